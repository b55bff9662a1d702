import { isLoopbackHost } from '@callsign/core/adapter'
/** Why a fetch of a JWKS or discovery document failed: a short code for the health snapshot. */
export class FetchFailure extends Error {
  override readonly name = 'FetchFailure'
  readonly reason: string
  constructor(reason: string, cause?: unknown) {
    super(`key fetch failed: ${reason}`, cause === undefined ? undefined : { cause })
    this.reason = reason
  }
}

export interface FetchJsonOptions {
  readonly timeoutMs: number
  readonly maxBytes: number
}

/**
 * GETs a JSON document with a deadline covering headers and body, a size limit enforced while
 * streaming, and no redirects. Every failure is a {@link FetchFailure}.
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeoutMs)
  let response: Response
  try {
    response = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/json' } })
  } catch (cause) {
    throw new FetchFailure(signal.aborted ? 'timeout' : 'network', cause)
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw new FetchFailure('http_status')
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw new FetchFailure('too_large')
  }
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    if (response.body) {
      const reader = response.body.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        total += value.byteLength
        if (total > options.maxBytes) {
          await reader.cancel().catch(() => {})
          throw new FetchFailure('too_large')
        }
        chunks.push(value)
      }
    }
  } catch (cause) {
    if (cause instanceof FetchFailure) throw cause
    throw new FetchFailure(signal.aborted ? 'timeout' : 'network', cause)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (cause) {
    throw new FetchFailure('invalid_json', cause)
  }
}

/** True for an https URL, or an http URL on loopback (core's `isLoopbackHost`). No credentials. */
export function isSecureUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.username !== '' || url.password !== '') return false
  if (url.protocol === 'https:') return true
  if (url.protocol !== 'http:') return false
  return isLoopbackHost(url.hostname)
}
