import { type KeyStore, parseApiKey, verifyApiKey } from '@callsign/api-key'
import {
  type AuditReason,
  type AuthRequest,
  type Caller,
  type Clock,
  isAuthError,
  type TlsPeer,
  type Verifier,
} from '@callsign/core'
import { type AssertionVerifier, JWT_BEARER_ASSERTION } from './assertion-clients.js'
import { OAuthError } from './oauth-error.js'

/** What client authentication looks at: the Authorization header(s), the form, the TLS peer. */
export interface ClientRequest {
  readonly authorization: readonly string[]
  readonly params: ReadonlyMap<string, string>
  readonly tls?: TlsPeer
  readonly remoteAddress?: string
}

export type ClientMethod =
  | 'bearer'
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'tls_client_auth'
  | 'private_key_jwt'

/** A claimed client, before its credential is checked: enough to rate-limit by client id. */
export interface ClaimedClient {
  readonly method: ClientMethod
  /** The client id named or implied by the request (key id or certificate identity), if any. */
  readonly clientId: string | undefined
  /** Checks the credential. Rejects with an `invalid_client` {@link OAuthError}. */
  authenticate(): Promise<Caller>
}

export interface ClientAuthenticator {
  /** Finds exactly one client authentication method in the request, or throws an {@link OAuthError}. */
  claim(req: ClientRequest): ClaimedClient
}

export interface ClientAuthenticatorOptions {
  readonly store: KeyStore | undefined
  readonly mtls: Verifier | undefined
  /** The certificate identities registered as clients → the scopes each may be issued. */
  readonly certificateClients: ReadonlyMap<string, readonly string[]>
  /** private_key_jwt clients, when any is registered. */
  readonly assertions: AssertionVerifier | undefined
  readonly clock: Clock
}

const KEY_ID = /^[a-z]{2,16}_([A-Za-z0-9]{12})_/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * RFC 6749 §2.3 client authentication with the suite's own verifiers: an API key as
 * `Authorization: Bearer`, as client_secret_basic or client_secret_post (client_id = key id,
 * client_secret = the whole key), an mTLS certificate with client_id (RFC 8705 tls_client_auth), or
 * a JWT assertion signed with the client's own key (RFC 7523 private_key_jwt).
 * Exactly one method per request: two are `invalid_request`.
 */
export function clientAuthenticator(options: ClientAuthenticatorOptions): ClientAuthenticator {
  const { store, mtls, certificateClients, assertions, clock } = options

  // API key clients are checked with verifyApiKey, against the store on every request, not with
  // apiKeyVerifier's cache. The cache pays off per API call; a client asks for a token once per token
  // lifetime. Reading the store each time, a revoked key is refused at its next request, as soon as the
  // store knows, with no notification or staleness window in between; an unknown key id costs one
  // lookup, and every failure is counted by the failed-authentication limit, which is checked before
  // any lookup. Its refusals map to RFC 6749 answers below (store down: temporarily_unavailable).
  const byKey = (key: string, challenge: 'Basic' | 'Bearer' | undefined) => async (): Promise<Caller> => {
    if (!store) throw refuse('api_keys_not_accepted', challenge)
    try {
      return await verifyApiKey(store, key, { clock })
    } catch (error) {
      if (isAuthError(error)) {
        if (error.reason === 'store_unavailable') {
          throw new OAuthError('temporarily_unavailable', { reason: 'store_unavailable', cause: error })
        }
        throw refuse(error.reason, challenge, error)
      }
      throw error
    }
  }

  /** client_id must name the key: checked on the key's text, before any store lookup. */
  const keyNamedBy = (clientId: string, key: string, challenge: 'Basic' | undefined) => {
    let id: string
    try {
      id = parseApiKey(key).id
    } catch (error) {
      const reason = isAuthError(error) ? error.reason : 'malformed'
      return { method: () => Promise.reject(refuse(reason, challenge)), id: undefined }
    }
    if (id !== clientId) return { method: () => Promise.reject(refuse('client_id_mismatch', challenge)), id }
    return { method: byKey(key, challenge), id }
  }

  return {
    claim(req) {
      const { authorization, params } = req
      if (authorization.length > 1) throw invalidRequest('duplicate_authorization')
      const header = authorization[0]
      const secret = params.get('client_secret')
      const clientId = params.get('client_id')
      if (header !== undefined && secret !== undefined) throw invalidRequest('several_client_credentials')
      const assertionType = params.get('client_assertion_type')
      const assertion = params.get('client_assertion')
      if (assertionType !== undefined || assertion !== undefined) {
        if (header !== undefined || secret !== undefined) throw invalidRequest('several_client_credentials')
        if (assertionType === undefined || assertion === undefined)
          throw invalidRequest('client_assertion_incomplete')
        if (assertionType !== JWT_BEARER_ASSERTION) throw refuse('unsupported_assertion_type', undefined)
        return {
          method: 'private_key_jwt',
          clientId: clientId ?? assertions?.claimedClient(assertion),
          async authenticate() {
            if (!assertions) throw refuse('assertions_not_accepted', undefined)
            return assertions.verify(assertion, clientId)
          },
        }
      }

      if (header !== undefined) {
        const space = header.indexOf(' ')
        const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase()
        const value = space === -1 ? '' : header.slice(space + 1)
        if (scheme === 'bearer') {
          const id = KEY_ID.exec(value)?.[1]
          if (clientId !== undefined && clientId !== id) throw invalidRequest('client_id_mismatch')
          return { method: 'bearer', clientId: id, authenticate: byKey(value, 'Bearer') }
        }
        if (scheme === 'basic') {
          const pair = decodeBasic(value)
          if (!pair) {
            return {
              method: 'client_secret_basic',
              clientId: undefined,
              authenticate: () => Promise.reject(refuse('malformed', 'Basic')),
            }
          }
          if (clientId !== undefined && clientId !== pair.id) throw invalidRequest('client_id_mismatch')
          const named = keyNamedBy(pair.id, pair.secret, 'Basic')
          return { method: 'client_secret_basic', clientId: pair.id, authenticate: named.method }
        }
        throw refuse('unsupported_scheme', 'Basic')
      }
      if (secret !== undefined) {
        if (clientId === undefined) throw invalidRequest('client_id_missing')
        const named = keyNamedBy(clientId, secret, undefined)
        return { method: 'client_secret_post', clientId, authenticate: named.method }
      }
      const chain = req.tls?.peerCertificateChain() ?? []
      if (clientId !== undefined && chain.length > 0) {
        return {
          method: 'tls_client_auth',
          clientId,
          async authenticate() {
            if (!mtls) throw refuse('certificates_not_accepted', undefined)
            const caller = await verifyCertificate(mtls, req)
            if (caller.id !== clientId) throw refuse('client_id_mismatch', undefined)
            const registered = certificateClients.get(caller.id)
            if (!registered) throw refuse('unknown_client', undefined)
            // the verifier authenticates; what the client may be issued is its registration's
            return { ...caller, scopes: new Set(registered) }
          },
        }
      }
      throw new OAuthError('invalid_client', {
        reason: 'no_credential',
        auditCode: 'ERR_NO_CREDENTIAL',
        challenge: 'Basic',
      })
    },
  }
}

async function verifyCertificate(mtls: Verifier, req: ClientRequest): Promise<Caller> {
  const authRequest: AuthRequest = {
    transport: 'http',
    method: 'POST',
    route: '/oauth2/token',
    header: () => [],
    ...(req.tls ? { tls: req.tls } : {}),
    ...(req.remoteAddress ? { remoteAddress: req.remoteAddress } : {}),
  }
  let caller: Caller | null
  try {
    caller = await mtls.verify(authRequest)
  } catch (error) {
    if (isAuthError(error)) throw refuse(error.reason, undefined, error)
    throw refuse('verifier_error', undefined, error)
  }
  if (!caller) throw refuse('no_credential', undefined)
  return caller
}

/** `Basic base64(urlencoded(id) ":" urlencoded(secret))` (RFC 6749 §2.3.1). */
function decodeBasic(value: string): { id: string; secret: string } | undefined {
  if (!BASE64.test(value) || value.length > 1024) return undefined
  const text = Buffer.from(value, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon <= 0) return undefined
  try {
    const id = decodeURIComponent(text.slice(0, colon).replaceAll('+', ' '))
    const secret = decodeURIComponent(text.slice(colon + 1).replaceAll('+', ' '))
    return secret.length > 0 ? { id, secret } : undefined
  } catch {
    return undefined
  }
}

function refuse(reason: AuditReason, challenge: 'Basic' | 'Bearer' | undefined, cause?: unknown): OAuthError {
  return new OAuthError('invalid_client', {
    reason,
    auditCode: 'ERR_INVALID_CREDENTIAL',
    ...(challenge ? { challenge } : {}),
    ...(cause === undefined ? {} : { cause }),
  })
}

function invalidRequest(reason: AuditReason): OAuthError {
  return new OAuthError('invalid_request', {
    reason,
    ...(reason === 'several_client_credentials' || reason === 'duplicate_authorization'
      ? { auditCode: 'ERR_AMBIGUOUS_REQUEST' as const }
      : {}),
  })
}
