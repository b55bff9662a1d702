import { inspect } from 'node:util'
import { type Clock, ConfigError, isScope, systemClock } from '@callsign/core'
import { isLoopbackHost } from '@callsign/core/adapter'
import type { Dispatcher } from 'undici'
import type { ClientError } from './client-error.js'
import type { Credentials } from './credentials.js'
import { isHeaderSafe } from './lib/header-safe.js'
import { requestToken } from './lib/request-token.js'
import type { PrivateKeyJwt } from './private-key-jwt.js'

/**
 * When a token is refreshed.
 *
 * @example
 * tokenCredentials({ tokenUrl, client, refresh: { minMarginMs: 60_000, ratio: 0.25 } })
 */
export interface TokenRefreshOptions {
  /** Refresh when less than max(`minMarginMs`, `ratio` × lifetime) remains. Default 30 000. */
  readonly minMarginMs?: number
  /** Default 0.2. */
  readonly ratio?: number
  /** Refresh up to this share of the lifetime earlier still, at random, so replicas spread out. Default 0.1. */
  readonly jitterRatio?: number
}

/**
 * Options of {@link tokenCredentials}.
 *
 * @example
 * tokenCredentials({ tokenUrl: 'https://issuer/token', client: apiKeyCredentials(key), audience: 'orders' })
 */
export interface TokenCredentialsOptions {
  /** The OAuth 2.0 token endpoint. `https:`, or `http:` to a loopback address only. */
  readonly tokenUrl: string
  /**
   * How this service authenticates to the token endpoint: `apiKeyCredentials(...)` (sent as
   * `Authorization: Bearer <key>`), `mtlsAgent(...)` (RFC 8705 `tls_client_auth`, with `clientId`),
   * or `privateKeyJwt(...)` (RFC 7523 `private_key_jwt`: a signed assertion, no secret sent).
   */
  readonly client: Credentials | PrivateKeyJwt
  /** With an mTLS client: the `client_id` sent in the body. */
  readonly clientId?: string
  /** The audience asked for when a call names none. */
  readonly audience?: string
  /** Scopes asked for (space-separated `scope` parameter). Default: none, the issuer's default. */
  readonly scope?: readonly string[]
  /** The undici dispatcher for the token endpoint (e.g. an `Agent` trusting a private CA); not with an mTLS client. */
  readonly dispatcher?: Dispatcher
  /** A token request that takes longer fails. Default 10 000 ms. */
  readonly timeoutMs?: number
  readonly refresh?: TokenRefreshOptions
  readonly clock?: Clock
}

interface Token {
  readonly header: string
  readonly obtainedAt: number
  readonly expiresAt: number
  readonly refreshAt: number
}

interface Entry {
  token?: Token
  inflight?: Promise<Token>
  failures: number
  retryAt: number
  lastError?: unknown
}

/** A failed token request is not retried sooner than this (doubling per failure, up to the maximum). */
const BACKOFF_MIN_MS = 1_000
const BACKOFF_MAX_MS = 60_000
/** A token younger than this is not dropped on a 401: a server refusing every token causes no storm. */
const MIN_AGE_TO_INVALIDATE_MS = 5_000

/**
 * Short-lived access tokens from an OAuth 2.0 token endpoint (client_credentials grant), one cached
 * token per audience. A token is refreshed before it expires (when less than max(30 s, 20 % of its
 * lifetime) remains, minus random jitter) in the background while the current one keeps being used,
 * with one request per audience however many calls are waiting (single flight). A token is never
 * used past its expiry. When the endpoint fails, a still-valid token keeps being used and the
 * request is retried later with exponential backoff; with no valid token the call fails with a
 * {@link ClientError} (`ERR_TOKEN_ENDPOINT_UNAVAILABLE`, `ERR_TOKEN_REQUEST_REJECTED` with the OAuth
 * `error` code, or `ERR_TOKEN_RESPONSE_INVALID`), and until the backoff ends further calls fail
 * fast with the same error instead of hammering the endpoint.
 *
 * @example
 * const tokens = tokenCredentials({
 *   tokenUrl: 'https://issuer.internal/token',
 *   client: apiKeyCredentials(fileSecret('/run/secrets/billing-key')),
 *   audience: 'orders',
 *   scope: ['orders:read'],
 * })
 * const ordersFetch = withCredentials(fetch, tokens)
 */
export function tokenCredentials(options: TokenCredentialsOptions): Credentials {
  const where = 'tokenCredentials'
  const url = checkTokenUrl(options?.tokenUrl)
  const endpoint = `${url.origin}${url.pathname}`
  const { client } = options
  const usable =
    client?.kind === 'private_key_jwt'
      ? typeof client.assertion === 'function'
      : typeof client?.authorization === 'function' && (client.kind === 'api-key' || client.kind === 'mtls')
  if (!usable) {
    throw new ConfigError(
      `${where}: "client" must be apiKeyCredentials(...), mtlsAgent(...) or privateKeyJwt(...)`,
    )
  }
  if (client.kind === 'mtls') {
    if (typeof options.clientId !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(options.clientId)) {
      throw new ConfigError(`${where}: "clientId" is required with an mTLS client (RFC 8705 tls_client_auth)`)
    }
    if (options.dispatcher !== undefined) {
      throw new ConfigError(`${where}: "dispatcher" cannot be combined with an mTLS client, which is one`)
    }
  } else if (options.clientId !== undefined) {
    throw new ConfigError(
      `${where}: "clientId" is for an mTLS client; an API key or privateKeyJwt names its own`,
    )
  }
  if (options.audience !== undefined) checkAudience(options.audience, `${where}: "audience"`)
  const scope = options.scope ?? []
  if (!Array.isArray(scope) || scope.some((s) => !isScope(s))) {
    throw new ConfigError(`${where}: "scope" must be a list of scopes ("resource:action")`)
  }
  const timeoutMs = options.timeoutMs ?? 10_000
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new ConfigError(`${where}: "timeoutMs" must be a positive integer`)
  }
  const minMarginMs = options.refresh?.minMarginMs ?? 30_000
  const ratio = options.refresh?.ratio ?? 0.2
  const jitterRatio = options.refresh?.jitterRatio ?? 0.1
  if (!(minMarginMs >= 0)) throw new ConfigError(`${where}: "refresh.minMarginMs" must be 0 or more`)
  if (!(ratio >= 0 && ratio < 1)) throw new ConfigError(`${where}: "refresh.ratio" must be in [0, 1)`)
  if (!(jitterRatio >= 0 && jitterRatio < 1)) {
    throw new ConfigError(`${where}: "refresh.jitterRatio" must be in [0, 1)`)
  }
  const clock = options.clock ?? systemClock
  const dispatcher = client.kind === 'mtls' ? client.dispatcher : options.dispatcher
  const entries = new Map<string, Entry>()

  const fetchToken = async (audience: string | undefined): Promise<Token> => {
    const params = new URLSearchParams({ grant_type: 'client_credentials' })
    if (audience !== undefined) params.set('audience', audience)
    if (scope.length > 0) params.set('scope', scope.join(' '))
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    if (client.kind === 'mtls') params.set('client_id', options.clientId!)
    else if (client.kind === 'private_key_jwt') {
      params.set('client_id', client.clientId)
      params.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      params.set('client_assertion', client.assertion(endpoint))
    } else headers.authorization = (await client.authorization())!
    const started = clock.now()
    let response: Awaited<ReturnType<typeof requestToken>>
    try {
      response = await requestToken({
        url,
        endpoint,
        headers,
        body: params.toString(),
        timeoutMs,
        ...(dispatcher ? { dispatcher } : {}),
      })
    } catch (error) {
      // Our key may have been rotated under us: read it again before the next attempt.
      if ((error as ClientError).oauthError === 'invalid_client' && client.kind !== 'private_key_jwt') {
        client.invalidate(headers.authorization)
      }
      throw error
    }
    const lifetime = response.expiresIn * 1000
    const margin = Math.min(Math.max(minMarginMs, ratio * lifetime), lifetime / 2)
    const jitter = Math.random() * jitterRatio * lifetime
    const expiresAt = started + lifetime
    return {
      header: `Bearer ${response.accessToken}`,
      obtainedAt: started,
      expiresAt,
      refreshAt: Math.max(started, expiresAt - margin - jitter),
    }
  }

  const start = (entry: Entry, audience: string | undefined): Promise<Token> => {
    const inflight = fetchToken(audience).then(
      (token) => {
        entry.token = token
        entry.failures = 0
        entry.retryAt = 0
        entry.lastError = undefined
        return token
      },
      (error: unknown) => {
        entry.failures++
        const backoff = Math.min(BACKOFF_MIN_MS * 2 ** (entry.failures - 1), BACKOFF_MAX_MS)
        entry.retryAt = clock.now() + backoff * (0.5 + Math.random() / 2)
        entry.lastError = error
        throw error
      },
    )
    entry.inflight = inflight
    const done = () => {
      if (entry.inflight === inflight) entry.inflight = undefined
    }
    inflight.then(done, done)
    return inflight
  }

  return Object.freeze({
    kind: 'jwt' as const,
    ...(client.kind === 'mtls' ? { dispatcher: client.dispatcher } : {}),
    async authorization(requested?: string) {
      if (requested !== undefined) checkAudience(requested, 'authorization(): audience', TypeError)
      const audience = requested ?? options.audience
      const key = audience ?? ''
      let entry = entries.get(key)
      if (!entry) {
        entry = { failures: 0, retryAt: 0 }
        entries.set(key, entry)
      }
      const now = clock.now()
      const token = entry.token
      if (token && now < token.expiresAt) {
        if (now >= token.refreshAt && !entry.inflight && now >= entry.retryAt) {
          start(entry, audience).catch(() => {}) // the current token stays in use; backoff is set
        }
        return token.header
      }
      entry.token = undefined
      if (entry.inflight) return (await entry.inflight).header
      if (entry.lastError !== undefined && now < entry.retryAt) throw entry.lastError
      return (await start(entry, audience)).header
    },
    invalidate(rejected?: string) {
      const now = clock.now()
      for (const entry of entries.values()) {
        const token = entry.token
        if (!token || (rejected !== undefined && token.header !== rejected)) continue
        if (now - token.obtainedAt < MIN_AGE_TO_INVALIDATE_MS) continue
        entry.token = undefined
      }
    },
    toJSON: () => ({ kind: 'jwt', tokenUrl: endpoint }),
    [inspect.custom]: () => `TokenCredentials { tokenUrl: ${inspect(endpoint)} }`,
  })
}

function checkTokenUrl(value: unknown): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new ConfigError('tokenCredentials: "tokenUrl" must be an absolute URL')
  }
  if (typeof value !== 'string') throw new ConfigError('tokenCredentials: "tokenUrl" must be an absolute URL')
  if (url.username || url.password) {
    throw new ConfigError('tokenCredentials: "tokenUrl" must not carry a user name or password')
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      'tokenCredentials: "tokenUrl" must be https: (plain http: only to a loopback address)',
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('tokenCredentials: "tokenUrl" must be an https: URL')
  }
  return url
}

function checkAudience(
  value: unknown,
  where: string,
  ErrorClass: new (message: string) => Error = ConfigError,
): asserts value is string {
  if (typeof value !== 'string' || !isHeaderSafe(value) || value.length > 512) {
    throw new ErrorClass(`${where} must be a non-empty string of visible ASCII without spaces`)
  }
}
