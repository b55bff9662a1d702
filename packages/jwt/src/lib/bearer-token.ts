import { AuthError, type AuthRequest } from '@callsign/core'

/**
 * What follows `Bearer ` (scheme case-insensitive, exactly one space) in the one `Authorization`
 * header, or null when the request carries no bearer credential. The value's syntax is not checked
 * here: a token already in the token cache needs no check, any other is checked by `parseToken`.
 */
export function bearerToken(req: AuthRequest): string | null {
  const values = req.header('authorization')
  if (values.length === 0) return null
  if (values.length > 1) throw new AuthError('ERR_AMBIGUOUS_REQUEST', { reason: 'duplicate_authorization' })
  const value = values[0] as string
  if (value.length < 8 || value.charCodeAt(6) !== 32 || value.slice(0, 6).toLowerCase() !== 'bearer') {
    return null
  }
  return value.slice(7)
}
