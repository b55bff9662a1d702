/**
 * Real credentials for the adapter contract, made with the packages' own tooling: API keys in a
 * file key store (the security suite's store, plus an expired and a rotated-out key), JWTs minted
 * with `mintToken` over `generateSigningKey` keys, and service certificates from `createDevCa` /
 * `issueServiceCertificate`. Nothing here is a test double.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyVerifier, createApiKey, rotateApiKey } from '@callsign/api-key'
import type { Clock, PolicyInput, Verifier } from '@callsign/core'
import { generateSigningKey, jwtVerifier, mintToken } from '@callsign/jwt'
import { createDevCa, issueServiceCertificate, mtlsVerifier, tlsServerOptions } from '@callsign/mtls'
import * as grpc from '@grpc/grpc-js'
import {
  SPIFFE_READER,
  SPIFFE_WRITER,
  securityCredentials,
  withChecksum,
} from '../../security/support/credentials.js'
import type { DevCerts } from './dev-certs.js'
import type { ClientPair } from './harnesses.js'

export { SPIFFE_READER, SPIFFE_WRITER }

const DAY = 86_400_000
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ISSUER = 'https://issuer.contract.test'
const AUDIENCE = 'orders'

/** Every credential the real scenario table presents, by kind and by what is wrong with it. */
export interface RealCredentials {
  readonly apiKey: {
    /** key-reader, orders:read. */
    readonly reader: string
    /** key-writer, orders:read and orders:write. */
    readonly writer: string
    /** The reader's key id with another secret under a valid checksum. */
    readonly forged: string
    /** Past its expiresAt. */
    readonly expired: string
    /** Revoked in the store. */
    readonly revoked: string
    /** Rotated out with no grace period: its successor is the only valid key. */
    readonly rotatedOut: string
  }
  readonly jwt: {
    /** sub jwt-reader, orders:read. */
    readonly reader: string
    /** sub jwt-writer, orders:read and orders:write. */
    readonly writer: string
    /** The reader's token with its payload rewritten to claim orders:write; signature kept. */
    readonly forged: string
    /** Signed by a key outside the set, under the current key's kid. */
    readonly wrongKey: string
    /** exp an hour ago. */
    readonly expired: string
    /** Signed by the previous key, whose kid has left the verifier's key set (rotated out). */
    readonly retiredKid: string
    /** jwt-reader, bound (RFC 8705 cnf x5t#S256) to the mTLS reader certificate. */
    readonly boundToReaderCert: string
  }
  readonly mtls: {
    /** SPIFFE_READER from the trusted CA (granted orders:read). */
    readonly reader: ClientPair
    /** SPIFFE_WRITER from the trusted CA (granted orders:read and orders:write). */
    readonly writer: ClientPair
    /** SPIFFE_WRITER from a stranger CA, never in the trust bundle. */
    readonly wrongCa: ClientPair
    /** SPIFFE_READER from the trusted CA, notAfter yesterday. */
    readonly expired: ClientPair
    /** SPIFFE_READER from the CA the bundle held before a CA rotation (no CRL: dropping the CA revokes). */
    readonly retiredCa: ClientPair
  }
  /** Server side of the harnesses: the trusted CA and a server certificate for 127.0.0.1/localhost. */
  readonly certs: DevCerts
  /** Fresh real verifiers over this material (one set per server, as a service would have). */
  verifiers(): Verifier[]
  /** The policy grants of the SPIFFE reader and writer (the mTLS verifier authenticates only). */
  readonly grants: PolicyInput['grants']
  /** gRPC TLS port credentials: client certificates requested, not required, so the verifier decides. */
  grpcServerCredentials(): grpc.ServerCredentials
  close(): void
}

const pastClock = (msAgo: number): Clock => ({ now: () => Date.now() - msAgo })

/** Builds the material in fresh temporary folders. Call once per test file. */
export async function realCredentials(): Promise<RealCredentials> {
  // API keys: the security suite's store (reader, writer, revoked) plus an expired and a rotated key.
  const security = await securityCredentials()
  const { store } = security
  const expired = await createApiKey(store, {
    owner: 'key-expired',
    scopes: ['orders:read'],
    expiresIn: DAY,
    clock: pastClock(2 * DAY),
  })
  const outgoing = await createApiKey(store, { owner: 'key-rotated', scopes: ['orders:read'] })
  await rotateApiKey(store, outgoing.record.id, { graceMs: 0 })
  const readerId = security.keys.reader.split('_')[1]!
  const forgedSecret = [...randomBytes(43)].map((byte) => BASE62[byte % 62]).join('')
  const forgedKey = withChecksum(`csk_${readerId}_${forgedSecret}`)

  // JWTs: the current signing key is the only one the verifier holds; the previous one was rotated out.
  const [current, previous, stranger] = await Promise.all([
    generateSigningKey(),
    generateSigningKey(),
    generateSigningKey(),
  ])
  const mint = (
    subject: string,
    scopes: string[],
    more: Partial<Parameters<typeof mintToken>[0]> = {},
  ): Promise<string> =>
    mintToken({ key: current, issuer: ISSUER, subject, audience: AUDIENCE, scopes, ttl: 300, ...more })
  const jwtReader = await mint('jwt-reader', ['orders:read'])
  const [header, payload, signature] = jwtReader.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  const escalated = Buffer.from(JSON.stringify({ ...claims, scope: 'orders:read orders:write' })).toString(
    'base64url',
  )

  // Certificates: the trusted CA, a stranger CA, and the CA the trust bundle dropped.
  const ca = createDevCa({ trustDomain: 'mesh.local' })
  const strangerCa = createDevCa({ trustDomain: 'mesh.local', commonName: 'Stranger CA' })
  const retiredCa = createDevCa({ trustDomain: 'mesh.local', commonName: 'Retired CA' })
  const server = issueServiceCertificate({
    ca,
    spiffeId: 'spiffe://mesh.local/ns/test/sa/orders',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  })
  const readerCert = issueServiceCertificate({ ca, spiffeId: SPIFFE_READER })
  const now = Date.now()

  const dir = mkdtempSync(join(tmpdir(), 'callsign-real-contract-'))
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }
  writeFileSync(files.ca, ca.cert)
  writeFileSync(files.cert, server.cert)
  writeFileSync(files.key, server.key, { mode: 0o600 })
  const serverTls = tlsServerOptions({ ...files, clientCertificate: 'request', watch: false })

  const pair = ({ cert, key }: { cert: string; key: string }): ClientPair => ({ cert, key })
  return {
    apiKey: {
      reader: security.keys.reader,
      writer: security.keys.writer,
      forged: forgedKey,
      expired: expired.key,
      revoked: security.keys.revoked,
      rotatedOut: outgoing.key,
    },
    jwt: {
      reader: jwtReader,
      writer: await mint('jwt-writer', ['orders:read', 'orders:write']),
      forged: `${header}.${escalated}.${signature}`,
      wrongKey: await mint('jwt-reader', ['orders:read'], {
        key: { alg: stranger.alg, privateKey: stranger.privateKey, kid: current.kid },
      }),
      expired: await mint('jwt-reader', ['orders:read'], { clock: pastClock(3_600_000) }),
      retiredKid: await mint('jwt-reader', ['orders:read'], { key: previous }),
      boundToReaderCert: await mint('jwt-reader', ['orders:read'], {
        certificateThumbprint: readerCert.thumbprint,
      }),
    },
    mtls: {
      reader: pair(readerCert),
      writer: pair(issueServiceCertificate({ ca, spiffeId: SPIFFE_WRITER })),
      wrongCa: pair(issueServiceCertificate({ ca: strangerCa, spiffeId: SPIFFE_WRITER })),
      expired: pair(
        issueServiceCertificate({
          ca,
          spiffeId: SPIFFE_READER,
          notBefore: new Date(now - 10 * DAY),
          notAfter: new Date(now - DAY),
        }),
      ),
      retiredCa: pair(issueServiceCertificate({ ca: retiredCa, spiffeId: SPIFFE_READER })),
    },
    certs: {
      dir,
      ca: Buffer.from(ca.cert),
      serverKey: Buffer.from(server.key),
      serverCert: Buffer.from(server.cert),
      client() {
        throw new Error('the real contract presents ready certificates (Credentials.cert), not CNs')
      },
    },
    grants: { [SPIFFE_READER]: ['orders:read'], [SPIFFE_WRITER]: ['orders:read', 'orders:write'] },
    verifiers: () => [
      apiKeyVerifier({ store, header: 'x-api-key' }),
      jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: [current.publicJwk] }),
      mtlsVerifier({
        identity: 'spiffe',
        serverTls,
        trustDomains: ['mesh.local'],
      }),
    ],
    grpcServerCredentials() {
      const provider = serverTls.certificateProvider()
      return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false)
    },
    close() {
      serverTls.close()
      store.close()
    },
  }
}
