/**
 * Every reason Callsign's own packages give for a decision: the `reason` of every audit event and
 * of every `AuthError`, one list, with what each means. Core's README prints the same table (a test
 * keeps the two equal), and `callsign review` reads events typed by it.
 */
export const AUDIT_REASONS = {
  // Allowed
  granted: 'allowed: the caller holds every scope the route (or requireScopes) requires',
  public: 'allowed: the route is public',
  token_issued: 'issuer: a token was issued',

  // The pipeline and the adapters
  no_credential: 'no credential of any configured kind',
  no_caller: 'requireScopes found no verified caller on the request',
  duplicate_authorization: 'the Authorization header (or metadata) is repeated',
  several_credentials: 'two credentials of different kinds, or a key in two places',
  scope_missing: 'the caller lacks a required scope',
  route_not_in_policy: 'the route has no policy entry',
  route_unknown: 'the adapter cannot place the request on a route it can see',
  verifier_error: 'a verifier threw, or answered with something that is not a Caller',
  verifier_timeout: 'a verifier did not answer within timeoutMs',
  adapter_error: 'the pipeline failed inside an adapter',
  plaintext_not_allowed: 'gRPC: a plaintext call, and allowPlaintextLoopback is off',
  plaintext_not_loopback: 'gRPC: a plaintext call from a peer that is not on loopback',
  unspecified: 'a reason that is not a plain code (never the text itself)',

  // API keys
  malformed: 'the credential is not well formed',
  checksum: 'the API key checksum is wrong (typed or truncated)',
  wrong_prefix: 'the API key has another prefix',
  unknown_key: 'no key with this id in the store',
  revoked: 'the key, token or certificate is revoked',
  expired: 'the key, token or certificate has expired',
  rotated: 'the key was rotated and its grace period is over',
  store_unavailable: 'the key store could not be read',
  lookup_rate_limited: 'the key store lookup budget is spent (stores where a lookup costs)',
  duplicate_credential_header: 'the API key header is repeated',
  wrong_secret: 'the API key secret does not match its id',

  // JWT
  alg_not_allowed: 'the token algorithm is not in the allow-list',
  bad_signature: 'the signature does not verify',
  unknown_kid: 'no key with this kid for the token issuer',
  keys_unavailable: 'the key set could not be fetched, or is past its stale bound',
  embedded_key: 'the token header carries a key or a key URL (jwk, jku, x5u, x5c)',
  unsupported_crit: 'the token names a critical header Callsign does not know',
  wrong_type: 'the token typ is not an access token type',
  wrong_issuer: 'iss is not an accepted issuer',
  wrong_audience: 'aud is not this service',
  missing_claim: 'a required claim is missing',
  invalid_claim: 'a claim has the wrong type or value',
  not_yet_valid: 'nbf (or a certificate notBefore) is in the future',
  issued_in_future: 'iat is in the future',
  lifetime_too_long: 'the token lives longer than maxLifetime',
  replayed: 'the token jti was seen before (replay protection)',
  replay_cache_full: 'the replay cache is full, so the token cannot be checked',
  replay_store_unavailable: 'the shared replay store did not answer, so the token cannot be checked',
  certificate_binding: 'the token is bound (cnf) to another certificate',
  token_too_large: 'the token is larger than allowed',

  // mTLS
  handshake_unauthorized: 'the TLS handshake did not verify the peer chain',
  unknown_ca: 'the peer chain ends at no trusted CA',
  self_signed: 'the peer certificate is self-signed',
  wrong_purpose: 'the certificate may not be used for client authentication',
  weak_key: 'the certificate key is below RSA 2048 or EC P-256',
  bad_certificate: 'the peer certificate cannot be parsed',
  leaf_is_ca: 'the leaf certificate is a CA',
  leaf_key_cert_sign: 'the leaf certificate may sign certificates (keyUsage keyCertSign, X509-SVID 4.3)',
  leaf_crl_sign: 'the leaf certificate may sign CRLs (keyUsage cRLSign, X509-SVID 4.3)',
  no_client_auth_eku: 'the certificate lacks the clientAuth extended key usage',
  no_spiffe_id: 'the certificate carries no SPIFFE ID',
  several_uri_sans: 'the certificate carries more than one URI SAN',
  bad_spiffe_id: 'the SPIFFE ID is malformed',
  no_dns_identity: 'the certificate carries no DNS identity',
  several_dns_identities: 'the certificate carries more than one DNS identity',
  trust_domain_not_allowed: 'the trust domain is not accepted',
  trust_domain_ca_mismatch: 'the trust domain is not bound to the CA that issued the certificate',

  // The issuer's token endpoint
  rate_limited: 'issuer: too many failed authentications from this address',
  unknown_client: 'issuer: no such client',
  wrong_client_secret: 'issuer: the client secret is wrong',
  client_id_mismatch: 'issuer: client_id names another client than its credential',
  client_id_missing: 'issuer: no client_id',
  several_client_credentials: 'issuer: more than one client authentication',
  unsupported_scheme: 'issuer: an Authorization scheme it does not take',
  api_keys_not_accepted: 'issuer: this client may not authenticate with an API key',
  certificates_not_accepted: 'issuer: this client may not authenticate with a certificate',
  assertions_not_accepted: 'issuer: this client may not authenticate with a signed assertion',
  malformed_assertion: 'issuer: the client assertion is not a well-formed JWT',
  unsupported_assertion_type: 'issuer: client_assertion_type is not jwt-bearer',
  client_assertion_incomplete: 'issuer: client_assertion without its type, or the other way round',
  assertion_lifetime_too_long: 'issuer: the client assertion lives too long',
  assertion_replayed: 'issuer: the client assertion jti was seen before',
  assertion_cache_full: 'issuer: too many assertions to remember',
  limiter_unavailable: 'issuer: the shared failed-authentication state did not answer',
  client_keys_unavailable: 'issuer: the client keys could not be fetched',
  not_a_form_body: 'issuer: the request body is not a form',
  malformed_body: 'issuer: the form cannot be read',
  body_too_large: 'issuer: the request body is too large',
  duplicate_parameter: 'issuer: a form parameter is repeated',
  grant_type_missing: 'issuer: no grant_type',
  unsupported_grant_type: 'issuer: a grant type other than client_credentials',
  no_scopes: 'issuer: the token would carry no scope',
  scope_not_held: 'issuer: a requested scope is not granted to the client',
  audience_required: 'issuer: no audience was named where one is required',
  audience_and_resource: 'issuer: both audience and resource were sent',
  audience_not_allowed: 'issuer: the issuer serves no such audience',
  audience_not_granted: 'issuer: the client may not have this audience',
  resource_not_allowed: 'issuer: the issuer serves no such resource (invalid_target)',
  resource_not_granted: 'issuer: the client may not have this resource (invalid_target)',
  assertion_claims: 'issuer: the client assertion claims are wrong (iss, sub, aud, exp, jti)',
  assertion_expired: 'issuer: the client assertion has expired',
  internal_error: 'issuer: an unexpected failure (answered 500 without detail)',
} as const

/** A reason from {@link AUDIT_REASONS}. */
export type BuiltInReason = keyof typeof AUDIT_REASONS

/**
 * The reason of a decision: one of Callsign's own, or, for a verifier of your own, any code under
 * `x.` (`x.partner_suspended`), so a new built-in reason can never collide with yours.
 */
export type AuditReason = BuiltInReason | `x.${string}`
