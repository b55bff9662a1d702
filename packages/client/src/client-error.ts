/** The codes a caller can `switch` on. Codes are the API; messages are prose. */
export type ClientErrorCode =
  | 'ERR_TOKEN_ENDPOINT_UNAVAILABLE'
  | 'ERR_TOKEN_REQUEST_REJECTED'
  | 'ERR_TOKEN_RESPONSE_INVALID'
  | 'ERR_AUTHORIZATION_PRESENT'

const MESSAGES: Record<ClientErrorCode, string> = {
  ERR_TOKEN_ENDPOINT_UNAVAILABLE: 'The token endpoint could not be reached or did not answer in time',
  ERR_TOKEN_REQUEST_REJECTED: 'The token endpoint refused the token request',
  ERR_TOKEN_RESPONSE_INVALID: 'The token endpoint answered with something that is not a usable token',
  ERR_AUTHORIZATION_PRESENT:
    'The request already carries an Authorization header; refusing to send two credentials',
}

const REASON = /^[a-z0-9][a-z0-9_.-]{0,63}$/
/** RFC 6749 §5.2: the `error` value is %x20-21 / %x23-5B / %x5D-7E. */
const OAUTH_ERROR = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/

/**
 * What a {@link ClientError} records besides its code.
 *
 * @example
 * new ClientError('ERR_TOKEN_ENDPOINT_UNAVAILABLE', { reason: 'timeout', endpoint: 'https://issuer/token' })
 */
export interface ClientErrorOptions {
  /** Why, in lower-case snake words: `'timeout'`, `'http_503'`, `'not_json'`. */
  readonly reason?: string
  /** The OAuth 2.0 `error` code the token endpoint returned (`'invalid_client'`). */
  readonly oauthError?: string
  /** The HTTP status the token endpoint answered with. */
  readonly status?: number
  /** Where it happened, e.g. the token endpoint's origin and path. Never a secret. */
  readonly endpoint?: string
  /** A dependency's error, kept for debugging. */
  readonly cause?: unknown
}

/**
 * A failure on the caller's side: the token endpoint is down, slow, refused the request or
 * answered garbage, or a request already carried a credential. The message names the endpoint
 * and the OAuth `error` code, never a secret, token or a dependency's error text (that is in
 * `cause`).
 *
 * @example
 * try {
 *   await orders('https://orders.internal/orders/42')
 * } catch (error) {
 *   if (error instanceof ClientError && error.code === 'ERR_TOKEN_REQUEST_REJECTED') {
 *     log.error({ oauthError: error.oauthError }, 'our client credential was refused')
 *   }
 * }
 */
export class ClientError extends Error {
  override readonly name = 'ClientError'
  readonly code: ClientErrorCode
  readonly reason: string
  readonly oauthError?: string
  readonly status?: number

  constructor(code: ClientErrorCode, options: ClientErrorOptions = {}) {
    const oauthError =
      options.oauthError !== undefined && OAUTH_ERROR.test(options.oauthError)
        ? options.oauthError
        : undefined
    const details = [
      options.endpoint ? `endpoint ${options.endpoint}` : '',
      oauthError ? `error "${oauthError}"` : '',
      options.status !== undefined && !oauthError ? `HTTP ${options.status}` : '',
    ].filter(Boolean)
    const message = details.length > 0 ? `${MESSAGES[code]} (${details.join(', ')})` : MESSAGES[code]
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.reason = options.reason !== undefined && REASON.test(options.reason) ? options.reason : 'unspecified'
    if (oauthError !== undefined) this.oauthError = oauthError
    if (options.status !== undefined) this.status = options.status
  }
}
