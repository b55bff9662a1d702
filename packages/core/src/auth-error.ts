import { AUDIT_REASONS, type AuditReason } from './audit-reason.js'

/** One stable code per situation of the wire contract. Codes are the API; messages are prose. */
export type AuthErrorCode =
  | 'ERR_NO_CREDENTIAL'
  | 'ERR_INVALID_CREDENTIAL'
  | 'ERR_AMBIGUOUS_REQUEST'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_ROUTE_NOT_IN_POLICY'

const MESSAGES: Record<AuthErrorCode, string> = {
  ERR_NO_CREDENTIAL: 'No credential was presented',
  ERR_INVALID_CREDENTIAL: 'The credential is not valid',
  ERR_AMBIGUOUS_REQUEST: 'The request carries more than one credential',
  ERR_INSUFFICIENT_SCOPE: 'The caller does not hold a scope this route requires',
  ERR_ROUTE_NOT_IN_POLICY: 'This route is not in the access policy',
}

/** A reason of your own: `x.` then a plain code. */
const CUSTOM_REASON = /^x\.[a-z0-9][a-z0-9_.-]{0,61}$/

export interface AuthErrorOptions {
  /**
   * Why, for the audit log only: one of `AUDIT_REASONS` (`'expired'`, `'revoked'` …), or a code of
   * your own under `x.` (letters, digits, `_ . -`). Never sent to the caller. Anything else is
   * recorded as `'unspecified'`.
   */
  reason?: AuditReason
  /** The scopes the route requires (`ERR_INSUFFICIENT_SCOPE`). */
  requiredScopes?: readonly string[]
  /** A dependency's error. Kept for debugging; never put in a response. */
  cause?: unknown
}

/**
 * A refused request. Throw it from a verifier for a credential that is present but bad.
 *
 * @example
 * throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'expired' })
 */
export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly code: AuthErrorCode
  readonly reason: AuditReason
  readonly requiredScopes: readonly string[]

  constructor(code: AuthErrorCode, options: AuthErrorOptions = {}) {
    super(MESSAGES[code], options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.reason = isAuditReason(options.reason) ? options.reason : 'unspecified'
    this.requiredScopes = Object.freeze([...(options.requiredScopes ?? [])])
  }
}

/**
 * Checked at run time too, for JavaScript callers: a built-in reason or an `x.` code of plain
 * characters. No free text, and so no secret, ever reaches an audit event.
 */
function isAuditReason(reason: unknown): reason is AuditReason {
  if (typeof reason !== 'string') return false
  return Object.hasOwn(AUDIT_REASONS, reason) || CUSTOM_REASON.test(reason)
}

/** An invalid option or policy, thrown when a factory is called: at startup, never per request. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'ERR_INVALID_CONFIG'
}

/** True for an {@link AuthError}, even one from another copy of this package. */
export function isAuthError(value: unknown): value is AuthError {
  return (
    value instanceof AuthError || (value instanceof Error && value.name === 'AuthError' && 'reason' in value)
  )
}
