import type { AuthErrorCode } from '@callsign/core'

/** The RFC 6749 §5.2 error codes the token endpoint answers with (plus RFC 8707 `invalid_target`). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  | 'server_error'

/** Fixed prose per code: nothing in a description ever comes from the request or a dependency. */
const DESCRIPTIONS: Record<OAuthErrorCode, string> = {
  invalid_request: 'The token request is malformed',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The grant is not valid',
  unauthorized_client: 'This client may not be issued a token',
  unsupported_grant_type: 'Only the client_credentials grant is supported',
  invalid_scope: 'A requested scope is malformed or not held by this client',
  invalid_target: 'A requested resource or audience is not served by this issuer',
  temporarily_unavailable: 'The issuer cannot answer now; retry later',
  server_error: 'The issuer failed to answer',
}

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  temporarily_unavailable: 503,
  server_error: 500,
}

export interface OAuthErrorOptions {
  /** Why, for the audit log only (lower-case snake words). */
  readonly reason: string
  /** The core code recorded in the audit event, when one fits. */
  readonly auditCode?: AuthErrorCode
  /** `WWW-Authenticate` scheme of an `invalid_client` answer: the scheme the client used. */
  readonly challenge?: 'Basic' | 'Bearer'
  /** Status override (429 for a rate-limited client). */
  readonly status?: number
  /** Seconds, sent as `Retry-After`. */
  readonly retryAfter?: number
  /** Who was refused, once authenticated (for the audit event). */
  readonly caller?: {
    readonly id: string
    readonly kind: 'api-key' | 'jwt' | 'mtls'
    readonly credentialId: string
  }
  readonly cause?: unknown
}

/** A refused token request, answered in RFC 6749 §5.2 form. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError'
  readonly error: OAuthErrorCode
  readonly status: number
  readonly reason: string
  readonly auditCode: AuthErrorCode | undefined
  readonly challenge: 'Basic' | 'Bearer' | undefined
  readonly retryAfter: number | undefined
  readonly caller: OAuthErrorOptions['caller']

  constructor(error: OAuthErrorCode, options: OAuthErrorOptions) {
    super(DESCRIPTIONS[error], options.cause === undefined ? undefined : { cause: options.cause })
    this.error = error
    this.status = options.status ?? STATUS[error]
    this.reason = options.reason
    this.auditCode = options.auditCode
    this.challenge = options.challenge
    this.retryAfter = options.retryAfter
    this.caller = options.caller
  }

  /** Status, headers and JSON body of the answer. */
  response(realm: string): {
    status: number
    headers: Record<string, string>
    body: { error: OAuthErrorCode; error_description: string }
  } {
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      pragma: 'no-cache',
    }
    if (this.status === 401) headers['www-authenticate'] = `${this.challenge ?? 'Basic'} realm="${realm}"`
    if (this.retryAfter !== undefined) headers['retry-after'] = String(this.retryAfter)
    return { status: this.status, headers, body: { error: this.error, error_description: this.message } }
  }
}
