import { AuthError, type AuthRequest } from '@callsign/core'

const BEARER = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i

/**
 * The token of `Authorization: Bearer <token>` (scheme case-insensitive, exactly one space,
 * token68 syntax), or null when the request carries no bearer token.
 */
export function bearerToken(req: AuthRequest): string | null {
  const values = req.header('authorization')
  if (values.length === 0) return null
  if (values.length > 1) throw new AuthError('ERR_AMBIGUOUS_REQUEST', { reason: 'duplicate_authorization' })
  const match = BEARER.exec(values[0] as string)
  return match ? (match[1] as string) : null
}
