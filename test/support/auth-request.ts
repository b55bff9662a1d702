import type { AuthRequest } from '@callsign/core'

/**
 * An `AuthRequest` as an adapter builds it: `GET /orders/:id` over HTTP from 127.0.0.1, header names
 * lower-case, every value of a header; `overrides` changes any field (`tls`, `route`…).
 */
export function authRequest(
  headers: Record<string, string | readonly string[]> = {},
  overrides: Partial<AuthRequest> = {},
): AuthRequest {
  return {
    transport: 'http',
    method: 'GET',
    route: '/orders/:id',
    header: (name) => {
      const value = headers[name]
      return value === undefined ? [] : typeof value === 'string' ? [value] : value
    },
    remoteAddress: '127.0.0.1',
    ...overrides,
  }
}
