import { AuthError } from './auth-error.js'
import type { AuthRequest } from './auth-request.js'

/**
 * The request's one `Authorization` header, or undefined when it has none. A repeated header is
 * refused as ambiguous (`ERR_AMBIGUOUS_REQUEST`, reason `duplicate_authorization`): which of two
 * values a proxy and a service each read is exactly what an attacker plays on.
 *
 * @example
 * const value = singleAuthorization(req) // 'Bearer eyJ…', or undefined
 */
export function singleAuthorization(req: AuthRequest): string | undefined {
  const values = req.header('authorization')
  if (values.length > 1) throw new AuthError('ERR_AMBIGUOUS_REQUEST', { reason: 'duplicate_authorization' })
  return values[0]
}

/**
 * What follows `Bearer ` in an `Authorization` value (RFC 6750: the scheme in any case, then exactly
 * one space), or null for any other scheme. The token's own syntax is the verifier's to check.
 *
 * @example
 * bearerValue('Bearer csk_…') // 'csk_…'
 */
export function bearerValue(value: string): string | null {
  if (value.length < 8 || value.charCodeAt(6) !== 32 || value.slice(0, 6).toLowerCase() !== 'bearer')
    return null
  return value.slice(7)
}

/**
 * The Bearer credential of a request: `bearerValue` of its one `Authorization` header; null when it
 * carries no Bearer credential, a refusal when the header is repeated.
 *
 * @example
 * const token = bearerToken(req)
 * if (token === null) return null // not this verifier's kind
 */
export function bearerToken(req: AuthRequest): string | null {
  const value = singleAuthorization(req)
  return value === undefined ? null : bearerValue(value)
}
