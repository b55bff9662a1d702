import { AuthError, type AuthErrorCode, type AuthErrorOptions } from './auth-error.js'

/**
 * An {@link AuthError} for an expected refusal, built without a stack trace: the reason says all a
 * stack would, and capturing one is most of the cost of refusing garbage. Measured with
 * `pnpm bench api-key` (2026-11-30, a loaded machine): refusing a key with a broken checksum cost
 * 1.8× a bare SHA-256 with this and 3.8× with a stack, so garbage would cost far more to refuse than
 * a valid key costs to accept. The verifiers refuse through this; anything else may use `new AuthError`.
 */
export function refusal(code: AuthErrorCode, options: AuthErrorOptions): AuthError {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new AuthError(code, options)
  } finally {
    Error.stackTraceLimit = limit
  }
}
