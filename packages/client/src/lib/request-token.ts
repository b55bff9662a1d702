import { type Dispatcher, request } from 'undici'
import { ClientError } from '../client-error.js'
import { isHeaderSafe } from './header-safe.js'

const MAX_BODY_BYTES = 64 * 1024

export interface TokenRequest {
  readonly url: URL
  /** Origin and path of the endpoint, for messages. */
  readonly endpoint: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly dispatcher?: Dispatcher
  readonly timeoutMs: number
}

export interface TokenResponse {
  readonly accessToken: string
  /** Seconds. */
  readonly expiresIn: number
  readonly scope?: string
}

/**
 * One POST to an OAuth 2.0 token endpoint (RFC 6749 §4.4), bounded in time and size. Every failure
 * is a {@link ClientError}; nothing from the response body but a valid OAuth `error` code is kept.
 */
export async function requestToken(req: TokenRequest): Promise<TokenResponse> {
  const { endpoint } = req
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), req.timeoutMs)
  let status: number
  let text: string
  try {
    const res = await request(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: controller.signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      ...(req.dispatcher ? { dispatcher: req.dispatcher } : {}),
    })
    status = res.statusCode
    text = await readLimited(res.body, endpoint)
  } catch (cause) {
    if (cause instanceof ClientError) throw cause
    const reason = controller.signal.aborted || isTimeout(cause) ? 'timeout' : 'connection_failed'
    throw new ClientError('ERR_TOKEN_ENDPOINT_UNAVAILABLE', { reason, endpoint, cause })
  } finally {
    clearTimeout(timer)
  }

  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const body =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined

  if (status !== 200) {
    if (status >= 400 && status < 500 && typeof body?.error === 'string') {
      throw new ClientError('ERR_TOKEN_REQUEST_REJECTED', {
        reason: 'oauth_error',
        oauthError: body.error,
        status,
        endpoint,
      })
    }
    throw new ClientError('ERR_TOKEN_ENDPOINT_UNAVAILABLE', { reason: `http_${status}`, status, endpoint })
  }
  const invalid = (reason: string) =>
    new ClientError('ERR_TOKEN_RESPONSE_INVALID', { reason, endpoint, status })
  if (body === undefined) throw invalid(json === undefined ? 'not_json' : 'not_an_object')
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = body
  if (typeof accessToken !== 'string' || !isHeaderSafe(accessToken)) throw invalid('bad_access_token')
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw invalid('bad_token_type')
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw invalid('bad_expires_in')
  }
  return { accessToken, expiresIn, ...(typeof scope === 'string' ? { scope } : {}) }
}

async function readLimited(body: Dispatcher.ResponseData['body'], endpoint: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      throw new ClientError('ERR_TOKEN_RESPONSE_INVALID', { reason: 'too_large', endpoint })
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
}
