import type { AuthError, AuthErrorCode } from './auth-error.js'

/** HTTP status per code (DESIGN §6). Exhaustive: a new code fails to compile until mapped. */
export const HTTP_STATUS: Record<AuthErrorCode, 400 | 401 | 403> = {
  ERR_NO_CREDENTIAL: 401,
  ERR_INVALID_CREDENTIAL: 401,
  ERR_AMBIGUOUS_REQUEST: 400,
  ERR_INSUFFICIENT_SCOPE: 403,
  ERR_ROUTE_NOT_IN_POLICY: 403,
}

/** gRPC status per code: 16 UNAUTHENTICATED, 7 PERMISSION_DENIED. */
export const GRPC_STATUS: Record<AuthErrorCode, 7 | 16> = {
  ERR_NO_CREDENTIAL: 16,
  ERR_INVALID_CREDENTIAL: 16,
  ERR_AMBIGUOUS_REQUEST: 16,
  ERR_INSUFFICIENT_SCOPE: 7,
  ERR_ROUTE_NOT_IN_POLICY: 7,
}

/** The RFC 6750 §3.1 error attribute per code; `null` for no attribute, `false` for no challenge. */
const BEARER_ERROR: Record<AuthErrorCode, string | null | false> = {
  ERR_NO_CREDENTIAL: null,
  ERR_INVALID_CREDENTIAL: 'invalid_token',
  ERR_AMBIGUOUS_REQUEST: 'invalid_request',
  ERR_INSUFFICIENT_SCOPE: 'insufficient_scope',
  ERR_ROUTE_NOT_IN_POLICY: false,
}

/** The gRPC trailing-metadata key that carries the error code. */
export const GRPC_ERROR_CODE_KEY = 'callsign-error-code'

export interface HttpRefusal {
  readonly status: 400 | 401 | 403
  readonly headers: Readonly<Record<string, string>>
  readonly body: {
    readonly status: number
    readonly code: AuthErrorCode
    readonly title: string
    readonly scope?: string
  }
}

/**
 * The HTTP response for a refusal: status, RFC 6750 `WWW-Authenticate` challenge and a small
 * problem+json body. Nothing in it comes from the credential or from a dependency.
 */
export function httpRefusal(error: AuthError, realm = 'callsign'): HttpRefusal {
  const status = HTTP_STATUS[error.code]
  const scope = error.code === 'ERR_INSUFFICIENT_SCOPE' ? error.requiredScopes.join(' ') : undefined
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' }
  const bearerError = BEARER_ERROR[error.code]
  if (bearerError !== false) {
    const params = [`realm="${realm}"`]
    if (bearerError !== null) params.push(`error="${bearerError}"`)
    if (scope) params.push(`scope="${scope}"`)
    headers['www-authenticate'] = `Bearer ${params.join(', ')}`
  }
  const body = { status, code: error.code, title: error.message, ...(scope ? { scope } : {}) }
  return { status, headers, body }
}
