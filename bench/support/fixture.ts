import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiKey, fileKeyStore } from '@callsign/api-key'
import { generateSigningKey, mintToken } from '@callsign/jwt'
import { createDevCa, issueServiceCertificate } from '@callsign/mtls'
import type { JWK } from 'jose'

export const ISSUER = 'https://issuer.bench'
export const AUDIENCE = 'orders'
export const SCOPE = 'orders:read'
export const ROUTE = '/orders/:id'
export const TRUST_DOMAIN = 'mesh.local'
export const CLIENT_SPIFFE_ID = 'spiffe://mesh.local/ns/prod/sa/billing'

/**
 * The credentials every benchmark target shares, written to one JSON file so that a server in a
 * child process and the load generator in this one use exactly the same key, tokens and certificates.
 */
export interface Fixture {
  readonly dir: string
  /** The key store file (holds one active key for `billing`). */
  readonly keyStore: string
  /** The plaintext API key the load generator sends. */
  readonly apiKey: string
  /** ES256 public key the servers verify with (JWK, with kid). */
  readonly publicJwk: JWK
  /** The same key as SPKI PEM, for the peers that take PEM. */
  readonly publicPem: string
  /** Distinct tokens, all valid: the first-seen workload cycles through them. */
  readonly tokens: readonly string[]
  /** One token sent over and over: the repeated-token workload. */
  readonly hotToken: string
  readonly tls: {
    readonly ca: string
    readonly serverCert: string
    readonly serverKey: string
    readonly clientCert: string
    readonly clientKey: string
  }
}

/**
 * Builds the shared credentials in a fresh temporary folder. Tokens live 900 s (the verifier's
 * default maximum lifetime), so build one fixture per benchmark section, not one per run.
 */
export async function createFixture(tokenCount = 2_000): Promise<{ fixture: Fixture; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'callsign-bench-'))
  const keyStore = join(dir, 'keys.json')
  const store = fileKeyStore(keyStore, { watch: false })
  const { key: apiKey } = await createApiKey(store, { owner: 'billing', scopes: [SCOPE] })
  store.close()

  const signing = await generateSigningKey({ alg: 'ES256' })
  const mint = (subject: string) =>
    mintToken({ key: signing, issuer: ISSUER, subject, audience: AUDIENCE, scopes: [SCOPE], ttl: 900 })
  const tokens = await Promise.all(Array.from({ length: tokenCount }, (_, i) => mint(`svc-${i}`)))
  const hotToken = await mint('billing')
  const { createPublicKey } = await import('node:crypto')
  const publicPem = createPublicKey(signing.privateKey).export({ type: 'spki', format: 'pem' }).toString()

  const ca = createDevCa({ trustDomain: TRUST_DOMAIN })
  const server = issueServiceCertificate({
    ca,
    spiffeId: 'spiffe://mesh.local/ns/prod/sa/orders',
    ipAddresses: ['127.0.0.1'],
  })
  const client = issueServiceCertificate({ ca, spiffeId: CLIENT_SPIFFE_ID })
  const fixture: Fixture = {
    dir,
    keyStore,
    apiKey,
    publicJwk: signing.publicJwk,
    publicPem,
    tokens,
    hotToken,
    tls: {
      ca: ca.cert,
      serverCert: server.cert,
      serverKey: server.key,
      clientCert: client.cert,
      clientKey: client.key,
    },
  }
  const file = join(dir, 'fixture.json')
  await writeFile(file, JSON.stringify(fixture))
  return { fixture, file }
}

export async function removeFixture(fixture: Fixture): Promise<void> {
  await rm(fixture.dir, { recursive: true, force: true })
}

/**
 * The claim checks Callsign's JWT verifier makes, for the peers that lack one of them: `sub`,
 * `iat` and `exp` present, and the route's scope held. Issuer, audience, algorithm, expiry and
 * lifetime are each peer's own options.
 */
export function peerClaimsOk(payload: unknown): boolean {
  if (typeof payload !== 'object' || payload === null) return false
  const claims = payload as Record<string, unknown>
  return (
    typeof claims.sub === 'string' &&
    typeof claims.iat === 'number' &&
    typeof claims.exp === 'number' &&
    claims.exp - claims.iat <= 900 &&
    typeof claims.scope === 'string' &&
    claims.scope.split(' ').includes(SCOPE)
  )
}
