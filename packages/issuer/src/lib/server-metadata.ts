/** What the metadata document says about the issuer: every field true of this issuer, nothing else. */
export interface ServerMetadataInput {
  readonly issuer: string
  readonly tokenEndpoint: string
  readonly jwksUri: string
  readonly authMethods: readonly string[]
  /** Algorithms accepted for private_key_jwt assertions, when that method is on. */
  readonly assertionAlgorithms: readonly string[]
  readonly scopes: readonly string[]
  readonly boundTokens: boolean
}

/**
 * The RFC 8414 authorization server metadata of a client_credentials-only issuer. There is no
 * authorization endpoint, so `response_types_supported` is empty, and no ID token is ever issued,
 * so no OpenID-only field (`id_token_signing_alg_values_supported`, `subject_types_supported`) is
 * claimed. The same document is served at the OpenID discovery location (RFC 8414 §5).
 */
export function serverMetadata(input: ServerMetadataInput): Record<string, unknown> {
  return {
    issuer: input.issuer,
    token_endpoint: input.tokenEndpoint,
    jwks_uri: input.jwksUri,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: input.authMethods,
    ...(input.assertionAlgorithms.length > 0
      ? { token_endpoint_auth_signing_alg_values_supported: input.assertionAlgorithms }
      : {}),
    scopes_supported: input.scopes,
    tls_client_certificate_bound_access_tokens: input.boundTokens,
  }
}
