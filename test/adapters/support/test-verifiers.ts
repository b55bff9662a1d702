/**
 * TEST DOUBLES. The real API-key, JWT and mTLS verifiers are built in other packages at the same
 * time; these small stand-ins implement core's `Verifier` contract exactly (null for "not mine",
 * a coded AuthError for "mine but bad") so the adapter contract suite can run today. A real
 * verifier is added to the scenario table with one credential row per kind (see scenarios.ts).
 */
import { X509Certificate } from 'node:crypto'
import { AuthError, type AuthRequest, type Caller, type CredentialKind, type Verifier } from '@callsign/core'

/** What a token in the table stands for. */
export type TokenOutcome =
  | { readonly id: string; readonly scopes: readonly string[] }
  | 'expired'
  | 'revoked'
  | 'crash'

export const TOKENS: Readonly<Record<string, TokenOutcome>> = {
  'valid-reader': { id: 'svc-reader', scopes: ['orders:read'] },
  'valid-writer': { id: 'svc-writer', scopes: ['orders:read', 'orders:write'] },
  expired: 'expired',
  revoked: 'revoked',
  crash: 'crash',
}

function outcome(kind: CredentialKind, token: string): Caller {
  const entry = TOKENS[token]
  if (entry === undefined) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'x.unknown_token' })
  if (entry === 'crash') throw new Error(`verifier crashed on purpose (secret ${token})`)
  if (typeof entry === 'string') throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: entry })
  return Object.freeze({
    id: entry.id,
    kind,
    scopes: new Set(entry.scopes),
    credentialId: `${kind}:${entry.id}`,
    attributes: {},
  })
}

/** Test double for the API-key verifier: the `x-api-key` header names a token of the table. */
export function tableApiKeyVerifier(): Verifier {
  return {
    kind: 'api-key',
    async verify(req: AuthRequest) {
      const values = req.header('x-api-key')
      if (values.length === 0) return null
      if (values.length > 1) throw new AuthError('ERR_AMBIGUOUS_REQUEST', { reason: 'x.duplicate_api_key' })
      return outcome('api-key', values[0]!)
    },
  }
}

/** Test double for the JWT verifier: `Authorization: Bearer <token of the table>`. */
export function tableJwtVerifier(): Verifier {
  return {
    kind: 'jwt',
    async verify(req: AuthRequest) {
      const value = req.header('authorization')[0]
      if (value === undefined) return null
      const match = /^Bearer ([\w.-]+)$/.exec(value)
      if (!match) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'malformed' })
      return outcome('jwt', match[1]!)
    },
  }
}

/** Test double for the mTLS verifier: the client certificate's CN names a token of the table. */
export function tableMtlsVerifier(): Verifier {
  return {
    kind: 'mtls',
    async verify(req: AuthRequest) {
      const leaf = req.tls?.peerCertificateChain()[0]
      if (leaf === undefined) return null
      if (!req.tls?.authorized) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'x.untrusted_chain' })
      const cn = /CN=([^\n,]+)/.exec(new X509Certificate(leaf).subject)?.[1]
      return outcome('mtls', cn ?? '')
    },
  }
}

/** The three doubles, in the order a service would configure them. */
export function tableVerifiers(): Verifier[] {
  return [tableApiKeyVerifier(), tableJwtVerifier(), tableMtlsVerifier()]
}
