import type { Caller, Clock } from '@callsign/core'
import { decodeJwt, errors, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { OAuthError } from './oauth-error.js'
import { seenAssertions } from './seen-assertions.js'

/** RFC 7523 §2.2 client authentication: `client_assertion_type` for a JWT assertion. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** Algorithms a client may sign its assertion with: asymmetric only (Ed25519 is EdDSA's RFC 9864 name). */
export const ASSERTION_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] as const
/** An assertion may live 5 minutes at most (`exp` no later than now + this). */
export const MAX_ASSERTION_LIFETIME_S = 300
const CLOCK_TOLERANCE_S = 10
const MAX_SEEN = 100_000

export interface AssertionClient {
  readonly scopes: readonly string[]
  /** The client's public keys: a local set, or a remote JWKS (cached by jose). */
  readonly keys: JWTVerifyGetKey
}

export interface AssertionVerifierOptions {
  readonly clients: ReadonlyMap<string, AssertionClient>
  /** Accepted `aud` values: the issuer identifier and the token endpoint URL. */
  readonly audiences: readonly string[]
  readonly clock: Clock
}

export interface AssertionVerifier {
  /** The `sub` an assertion claims, unverified: only for rate limiting by client id. */
  claimedClient(assertion: string): string | undefined
  /** Verifies the assertion; the client, or an `invalid_client` {@link OAuthError}. */
  verify(assertion: string, clientId: string | undefined): Promise<Caller>
}

/**
 * `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9): the client signs a short JWT with its own key.
 * `iss` = `sub` = a registered client id, `aud` = the issuer or its token endpoint, `exp` required and
 * at most 5 minutes ahead, `jti` required and accepted once, `alg` from the allow-list, the key from
 * the keys registered for that client (never from the assertion's headers).
 */
export function assertionVerifier(options: AssertionVerifierOptions): AssertionVerifier {
  const { clients, audiences, clock } = options
  const seen = seenAssertions(MAX_SEEN)

  return {
    claimedClient,
    async verify(assertion, clientId) {
      const sub = claimedClient(assertion)
      if (sub === undefined) throw refuse('malformed_assertion')
      if (clientId !== undefined && clientId !== sub) throw refuse('client_id_mismatch')
      const client = clients.get(sub)
      if (!client) throw refuse('unknown_client')
      const nowMs = clock.now()
      let payload: Awaited<ReturnType<typeof jwtVerify>>['payload']
      let kid: string | undefined
      try {
        const verified = await jwtVerify(assertion, client.keys, {
          algorithms: [...ASSERTION_ALGORITHMS],
          issuer: sub,
          subject: sub,
          audience: [...audiences],
          requiredClaims: ['exp', 'jti'],
          currentDate: new Date(nowMs),
          clockTolerance: CLOCK_TOLERANCE_S,
        })
        payload = verified.payload
        kid = verified.protectedHeader.kid
      } catch (error) {
        throw joseRefusal(error)
      }
      const exp = payload.exp as number
      if (exp > nowMs / 1000 + MAX_ASSERTION_LIFETIME_S + CLOCK_TOLERANCE_S) {
        throw refuse('assertion_lifetime_too_long')
      }
      const jti = payload.jti
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw refuse('invalid_claim')
      const use = seen.use(`${sub}\n${jti}`, (exp + CLOCK_TOLERANCE_S) * 1000, nowMs)
      if (use === 'replayed') throw refuse('assertion_replayed')
      if (use === 'full') {
        throw new OAuthError('temporarily_unavailable', { reason: 'assertion_cache_full' })
      }
      return Object.freeze({
        id: sub,
        kind: 'jwt' as const,
        scopes: new Set(client.scopes),
        credentialId: kid ?? sub,
        attributes: Object.freeze({ authMethod: 'private_key_jwt' }),
      })
    },
  }
}

function claimedClient(assertion: string): string | undefined {
  try {
    const sub = decodeJwt(assertion).sub
    return typeof sub === 'string' && sub.length > 0 && sub.length <= 256 ? sub : undefined
  } catch {
    return undefined
  }
}

/** jose's verdict as an OAuth answer: the reason for the audit log, never jose's message. */
function joseRefusal(error: unknown): OAuthError {
  if (
    error instanceof errors.JWKSTimeout ||
    !(error instanceof errors.JOSEError) ||
    error.code === 'ERR_JOSE_GENERIC' ||
    error.code === 'ERR_JWKS_INVALID'
  ) {
    // The client's JWKS URL did not answer, or not with a key set: ask the client to retry later.
    return new OAuthError('temporarily_unavailable', { reason: 'client_keys_unavailable', cause: error })
  }
  const reasons: Record<string, string> = {
    ERR_JWT_EXPIRED: 'assertion_expired',
    ERR_JWT_CLAIM_VALIDATION_FAILED: 'assertion_claims',
    ERR_JOSE_ALG_NOT_ALLOWED: 'alg_not_allowed',
    ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad_signature',
    ERR_JWKS_NO_MATCHING_KEY: 'unknown_key',
    ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'bad_signature',
  }
  return refuse(reasons[error.code] ?? 'malformed_assertion', error)
}

function refuse(reason: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_client', {
    reason,
    auditCode: 'ERR_INVALID_CREDENTIAL',
    ...(cause === undefined ? {} : { cause }),
  })
}
