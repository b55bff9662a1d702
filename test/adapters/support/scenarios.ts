import type { AuthErrorCode } from '@callsign/core'
import type { Credentials, Target } from './harnesses.js'

export interface Scenario {
  readonly name: string
  readonly target: Target
  readonly credentials: Credentials
  /** Allowed: the caller id the handler sees (null on a public route). */
  readonly caller?: string | null
  /** Refused: the stable error code. */
  readonly code?: AuthErrorCode
}

/**
 * How each credential kind is presented. A real verifier joins the table by adding its kind here
 * with a valid, an invalid, an expired and a revoked credential.
 */
export const KINDS: Readonly<Record<string, (token: string) => Credentials>> = {
  'api-key': (token) => ({ apiKey: token }),
  jwt: (token) => ({ bearer: token }),
  mtls: (token) => ({ certCn: token }),
}

const perKind: Scenario[] = Object.entries(KINDS).flatMap(([kind, present]) => [
  { name: `${kind}: valid`, target: 'read', credentials: present('valid-reader'), caller: 'svc-reader' },
  {
    name: `${kind}: invalid`,
    target: 'read',
    credentials: present('not-a-known-token'),
    code: 'ERR_INVALID_CREDENTIAL',
  },
  {
    name: `${kind}: expired`,
    target: 'read',
    credentials: present('expired'),
    code: 'ERR_INVALID_CREDENTIAL',
  },
  {
    name: `${kind}: revoked`,
    target: 'read',
    credentials: present('revoked'),
    code: 'ERR_INVALID_CREDENTIAL',
  },
  {
    name: `${kind}: verifier crash`,
    target: 'read',
    credentials: present('crash'),
    code: 'ERR_INVALID_CREDENTIAL',
  },
  {
    name: `${kind}: scope missing`,
    target: 'write',
    credentials: present('valid-reader'),
    code: 'ERR_INSUFFICIENT_SCOPE',
  },
  {
    name: `${kind}: scope held`,
    target: 'write',
    credentials: present('valid-writer'),
    caller: 'svc-writer',
  },
])

export const SCENARIOS: readonly Scenario[] = [
  { name: 'no credential', target: 'read', credentials: {}, code: 'ERR_NO_CREDENTIAL' },
  ...perKind,
  { name: 'public route, no credential', target: 'public', credentials: {}, caller: null },
  {
    name: 'unmapped route',
    target: 'unmapped',
    credentials: { bearer: 'valid-writer' },
    code: 'ERR_ROUTE_NOT_IN_POLICY',
  },
  {
    name: 'ambiguous: api key and bearer token',
    target: 'read',
    credentials: { apiKey: 'valid-reader', bearer: 'valid-writer' },
    code: 'ERR_AMBIGUOUS_REQUEST',
  },
  {
    name: 'ambiguous: client certificate and bearer token',
    target: 'read',
    credentials: { certCn: 'valid-reader', bearer: 'valid-reader' },
    code: 'ERR_AMBIGUOUS_REQUEST',
  },
  {
    name: 'malformed authorization header',
    target: 'read',
    credentials: { bearer: 'a b' },
    code: 'ERR_INVALID_CREDENTIAL',
  },
]
