import { ConfigError } from '@callsign/core'
import { ClientError } from './client-error.js'
import type { Credentials } from './credentials.js'

/**
 * The part of a fetch function this wrapper relies on: Node's global `fetch` and undici's both fit.
 *
 * @example
 * const f: FetchLike = fetch
 */
// biome-ignore lint/suspicious/noExplicitAny: the input and init types differ between fetch implementations
export type FetchLike = (input: any, init?: any) => Promise<Response | ResponseLike>

/**
 * The part of a `Response` this wrapper reads.
 *
 * @example
 * const res: ResponseLike = await fetch(url)
 */
export interface ResponseLike {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  readonly body: { cancel(): Promise<void> } | null
}

/**
 * Options of {@link withCredentials}.
 *
 * @example
 * withCredentials(fetch, tokens, { audience: (url) => url.hostname.split('.')[0] })
 */
export interface WithCredentialsOptions {
  /** The audience to ask tokens for: fixed, or chosen per request URL. Default: the credential's own. */
  readonly audience?: string | ((url: URL) => string | undefined)
}

/**
 * Wraps a fetch function so that every request carries the credential: `Authorization` for API
 * keys and tokens, and the client certificate's `dispatcher` for mTLS (pass undici's `fetch` then).
 * A request that already has an `Authorization` header is refused with `ERR_AUTHORIZATION_PRESENT`:
 * two credentials are never sent. A 401 whose `WWW-Authenticate` says `error="invalid_token"`
 * invalidates the credential and retries once with a fresh one, when the body can be sent again
 * (none, a string, bytes, `URLSearchParams`, `Blob` or `FormData`); a second 401 is returned as is.
 *
 * @example
 * const ordersFetch = withCredentials(fetch, tokens, { audience: 'orders' })
 * const res = await ordersFetch('https://orders.internal/orders/42')
 */
export function withCredentials<F extends FetchLike>(
  fetch: F,
  credentials: Credentials,
  options: WithCredentialsOptions = {},
): F {
  if (typeof fetch !== 'function') throw new ConfigError('withCredentials: "fetch" must be a fetch function')
  if (typeof credentials?.authorization !== 'function' || typeof credentials.invalidate !== 'function') {
    throw new ConfigError(
      'withCredentials: "credentials" must come from apiKeyCredentials, tokenCredentials or mtlsAgent',
    )
  }
  const { audience } = options
  if (audience !== undefined && typeof audience !== 'string' && typeof audience !== 'function') {
    throw new ConfigError('withCredentials: "audience" must be a string or a function of the URL')
  }

  // biome-ignore lint/suspicious/noExplicitAny: see FetchLike
  const wrapped = async function fetchWithCredentials(input: any, init?: any) {
    const request = isRequestLike(input) ? input : undefined
    const headers = new Headers(init?.headers ?? request?.headers)
    if (headers.has('authorization'))
      throw new ClientError('ERR_AUTHORIZATION_PRESENT', { reason: 'authorization_present' })
    const target =
      typeof audience === 'function' ? audience(new URL(request ? request.url : String(input))) : audience
    const replayable = request?.body == null && isReplayable(init?.body)

    const send = async (authorization: string | undefined) => {
      const sent = new Headers(headers)
      if (authorization !== undefined) sent.set('authorization', authorization)
      const next = { ...init, headers: sent }
      if (credentials.dispatcher && next.dispatcher === undefined) next.dispatcher = credentials.dispatcher
      return fetch(input, next)
    }

    const first = await credentials.authorization(target)
    const response = await send(first)
    if (response.status !== 401 || first === undefined || !replayable) return response
    if (!saysInvalidToken(response.headers.get('www-authenticate'))) return response
    credentials.invalidate(first)
    let second: string | undefined
    try {
      second = await credentials.authorization(target)
    } catch (error) {
      await response.body?.cancel().catch(() => {})
      throw error
    }
    if (second === first) return response
    await response.body?.cancel().catch(() => {})
    return send(second)
  }
  return wrapped as F
}

function isRequestLike(value: unknown): value is { url: string; headers: Headers; body: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { url?: unknown }).url === 'string' &&
    typeof (value as { headers?: unknown }).headers === 'object'
  )
}

function isReplayable(body: unknown): boolean {
  return (
    body == null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  )
}

/** RFC 6750 §3: `Bearer realm="…", error="invalid_token"` (quoted or not, any challenge). */
function saysInvalidToken(header: string | null): boolean {
  return header !== null && /(?:^|[\s,])error\s*=\s*"?invalid_token"?(?:$|[\s,])/i.test(header)
}
