import type { Credentials } from './harnesses.js'
import { type RealCredentials, SPIFFE_READER, SPIFFE_WRITER } from './real-credentials.js'
import type { Scenario } from './scenarios.js'

/** A scenario of the contract, plus why the pipeline decided as it did (the audit event's reason). */
export interface RealScenario extends Scenario {
  readonly reason: string
}

/** Each kind's credentials, and how a request presents them. */
interface KindRows {
  readonly kind: 'api-key' | 'jwt' | 'mtls'
  readonly reader: Credentials
  readonly readerId: string
  readonly writer: Credentials
  readonly writerId: string
  /** Refused credentials: row name, the credential, the audit reason. */
  readonly refused: readonly (readonly [string, Credentials, string])[]
}

/**
 * The adapter contract's scenario shape (see scenarios.ts) with the real verifiers' credentials:
 * for each kind valid, invalid, expired, revoked, scope missing, scope held; then the rows that
 * do not depend on a kind, and the ambiguous combinations.
 */
export function realScenarios(c: RealCredentials): readonly RealScenario[] {
  const kinds: KindRows[] = [
    {
      kind: 'api-key',
      reader: { apiKey: c.apiKey.reader },
      readerId: 'key-reader',
      writer: { apiKey: c.apiKey.writer },
      writerId: 'key-writer',
      refused: [
        [
          'invalid (forged: the reader key id, another secret, valid checksum)',
          { apiKey: c.apiKey.forged },
          'wrong_secret',
        ],
        ['expired (past expiresAt)', { apiKey: c.apiKey.expired }, 'expired'],
        ['revoked in the store', { apiKey: c.apiKey.revoked }, 'revoked'],
        ['rotated out, grace period over', { apiKey: c.apiKey.rotatedOut }, 'rotated'],
      ],
    },
    {
      kind: 'jwt',
      reader: { bearer: c.jwt.reader },
      readerId: 'jwt-reader',
      writer: { bearer: c.jwt.writer },
      writerId: 'jwt-writer',
      refused: [
        [
          'invalid (forged: payload rewritten to claim orders:write)',
          { bearer: c.jwt.forged },
          'bad_signature',
        ],
        [
          "invalid (wrong key: a stranger's key under the current kid)",
          { bearer: c.jwt.wrongKey },
          'bad_signature',
        ],
        ['expired', { bearer: c.jwt.expired }, 'expired'],
        [
          'revoked (signed by a rotated-out key: its kid left the key set)',
          { bearer: c.jwt.retiredKid },
          'unknown_kid',
        ],
      ],
    },
    {
      kind: 'mtls',
      reader: { cert: c.mtls.reader },
      readerId: SPIFFE_READER,
      writer: { cert: c.mtls.writer },
      writerId: SPIFFE_WRITER,
      refused: [
        [
          'invalid (wrong CA: the writer SPIFFE ID from a CA never trusted)',
          { cert: c.mtls.wrongCa },
          'unknown_ca',
        ],
        ['expired (notAfter yesterday, our CA)', { cert: c.mtls.expired }, 'expired'],
        [
          'revoked analogue, no CRL (a certificate from the CA dropped from the trust bundle)',
          { cert: c.mtls.retiredCa },
          'unknown_ca',
        ],
      ],
    },
  ]

  const perKind = kinds.flatMap((k): RealScenario[] => [
    {
      name: `${k.kind}: valid`,
      target: 'read',
      credentials: k.reader,
      caller: k.readerId,
      reason: 'granted',
    },
    ...k.refused.map(
      ([name, credentials, reason]): RealScenario => ({
        name: `${k.kind}: ${name}`,
        target: 'read',
        credentials,
        code: 'ERR_INVALID_CREDENTIAL',
        reason,
      }),
    ),
    {
      name: `${k.kind}: scope missing (reader on the write route)`,
      target: 'write',
      credentials: k.reader,
      code: 'ERR_INSUFFICIENT_SCOPE',
      reason: 'scope_missing',
    },
    {
      name: `${k.kind}: scope held (writer on the write route)`,
      target: 'write',
      credentials: k.writer,
      caller: k.writerId,
      reason: 'granted',
    },
  ])

  return [
    {
      name: 'no credential',
      target: 'read',
      credentials: {},
      code: 'ERR_NO_CREDENTIAL',
      reason: 'no_credential',
    },
    ...perKind,
    {
      name: 'api-key: valid in Authorization: Bearer',
      target: 'read',
      credentials: { bearer: c.apiKey.reader },
      caller: 'key-reader',
      reason: 'granted',
    },
    {
      name: 'public route, no credential',
      target: 'public',
      credentials: {},
      caller: null,
      reason: 'public',
    },
    {
      name: 'unmapped route, valid writer token',
      target: 'unmapped',
      credentials: { bearer: c.jwt.writer },
      code: 'ERR_ROUTE_NOT_IN_POLICY',
      reason: 'route_not_in_policy',
    },
    {
      name: 'ambiguous: api key and bearer JWT',
      target: 'read',
      credentials: { apiKey: c.apiKey.reader, bearer: c.jwt.reader },
      code: 'ERR_AMBIGUOUS_REQUEST',
      reason: 'several_credentials',
    },
    {
      name: 'ambiguous: bearer JWT and a client certificate it is not bound to',
      target: 'read',
      credentials: { bearer: c.jwt.reader, cert: c.mtls.reader },
      code: 'ERR_AMBIGUOUS_REQUEST',
      reason: 'several_credentials',
    },
    {
      name: 'ambiguous: api key and a client certificate',
      target: 'read',
      credentials: { apiKey: c.apiKey.reader, cert: c.mtls.reader },
      code: 'ERR_AMBIGUOUS_REQUEST',
      reason: 'several_credentials',
    },
    {
      name: 'certificate-bound JWT with its own certificate: one credential (RFC 8705)',
      target: 'read',
      credentials: { bearer: c.jwt.boundToReaderCert, cert: c.mtls.reader },
      caller: 'jwt-reader',
      reason: 'granted',
    },
    {
      name: 'certificate-bound JWT with another certificate',
      target: 'read',
      credentials: { bearer: c.jwt.boundToReaderCert, cert: c.mtls.writer },
      code: 'ERR_INVALID_CREDENTIAL',
      reason: 'certificate_binding',
    },
  ]
}
