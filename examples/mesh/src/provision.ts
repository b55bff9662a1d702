import { X509Certificate } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { fileKeyStore, parseApiKey } from '@callsign/api-key'
import { writeFileAtomic } from '@callsign/core/adapter'
import { createRevocationList } from '@callsign/mtls'
import { mustCallsign } from './lib/callsign.js'

/** The services that get a certificate from the development CA. */
export const SERVICES = ['issuer', 'inventory', 'billing', 'orders', 'gateway'] as const

/** Every API key of the mesh: exactly the scopes each holder uses, but for one that `callsign review` catches. */
export const KEYS: Record<string, readonly string[]> = {
  storefront: ['shop:read', 'shop:order'], // a partner calling the gateway
  analytics: ['shop:read', 'reports:read'], // a read-only partner; reports:read is never used: review reports it
  gateway: ['orders:read', 'orders:write'], // exchanged at the issuer for tokens for orders
  orders: ['inventory:read', 'inventory:reserve'], // exchanged at the issuer for tokens for inventory
  warehouse: ['inventory:read'], // calls inventory directly with its key
}

export interface MeshPaths {
  readonly state: string
  readonly certs: string
  readonly keyStore: string
  readonly secrets: string
  readonly jwks: string
  readonly audit: string
  readonly logs: string
}

export function meshPaths(state: string, certs: string): MeshPaths {
  return {
    state,
    certs,
    keyStore: join(state, 'store', 'keys.json'),
    secrets: join(state, 'secrets'),
    jwks: join(state, 'jwks'),
    audit: join(state, 'audit'),
    logs: join(state, 'logs'),
  }
}

const DAY = 86_400_000

/** A service certificate is issued again when it has less than this left (they last 7 days). */
export const CERT_RENEW_BEFORE = 2 * DAY

/**
 * Where `owner`'s API key lives: a folder of its own, so a container can mount exactly its own
 * key as a directory (a file mount would keep the old inode after an atomic rotation).
 */
export function keyFile(paths: MeshPaths, owner: string): string {
  return join(paths.secrets, owner, 'api.key')
}

/** Every file under the secrets folder, as paths relative to it. */
export function secretFiles(secrets: string): string[] {
  return (readdirSync(secrets, { recursive: true }) as string[]).filter((name) =>
    statSync(join(secrets, name)).isFile(),
  )
}

/** The intruder's loot, one folder: an expired token, a copy of the warehouse's key, the mesh CA. */
export function intruderLoot(paths: MeshPaths) {
  const dir = join(paths.secrets, 'intruder')
  return {
    dir,
    expiredToken: join(dir, 'expired.jwt'),
    stolenKey: join(dir, 'stolen.key'),
    ca: join(dir, 'ca.crt'),
  }
}

/**
 * Creates what the mesh needs, with the real `callsign` command, and is safe to run again at any
 * time: on the first run the development CA, the issuer's signing keys and the API keys; on every
 * run a certificate for each service that has none or whose certificate expires within
 * {@link CERT_RENEW_BEFORE}, and any key that is missing, revoked or close to expiry. Keys land in
 * `<state>/secrets/<owner>/api.key` (mode 0600).
 */
export async function provision(
  paths: MeshPaths,
  issuerUrl: string,
  say: (line: string) => void,
): Promise<void> {
  for (const dir of [paths.state, paths.secrets, paths.audit, paths.logs, dirname(paths.keyStore)]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }
  const store = ['--store', paths.keyStore]

  if (!existsSync(join(paths.certs, 'ca', 'ca.crt'))) {
    await mustCallsign(['certs', 'init', '--trust-domain', 'mesh.local', '--dir', paths.certs])
    say(`created the development CA in ${paths.certs}/ca`)
  }
  const crl = join(paths.certs, 'crl', 'ca.crl')
  if (!existsSync(crl)) {
    // a CA made before `certs init` wrote its (empty) revocation list, apart from the CA's key
    mkdirSync(dirname(crl), { recursive: true, mode: 0o755 })
    const ca = {
      cert: readFileSync(join(paths.certs, 'ca', 'ca.crt')),
      key: readFileSync(join(paths.certs, 'ca', 'ca.key')),
    }
    await writeFileAtomic(crl, createRevocationList({ ca, revoked: [] }), { mode: 0o644 })
  }
  const due = SERVICES.filter((service) => !certificateFresh(join(paths.certs, service, 'tls.crt')))
  await Promise.all(
    due.map((service) =>
      mustCallsign(['certs', 'issue', service, '--dir', paths.certs, '--namespace', 'shop']),
    ),
  )
  if (due.length) {
    say(`issued certificates for ${due.join(', ')} (SPIFFE IDs spiffe://mesh.local/ns/shop/sa/<service>)`)
  }

  if (!existsSync(join(paths.jwks, 'jwks.json'))) {
    await mustCallsign(['jwks', 'generate', '--dir', paths.jwks])
    say('generated the issuer signing key')
  }

  const keyStore = fileKeyStore(paths.keyStore, { watch: false })
  const created: string[] = []
  for (const [owner, scopes] of Object.entries(KEYS)) {
    const file = keyFile(paths, owner)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    if (await usable(file)) continue
    rmSync(file, { force: true })
    await mustCallsign([
      'keys',
      'create',
      '--owner',
      owner,
      ...scopes.flatMap((s) => ['--scope', s]),
      '--out',
      file,
      ...store,
    ])
    created.push(owner)
  }
  if (created.length) say(`created API keys for ${created.join(', ')}`)

  // The intruder's loot: a token that has expired by the time it is used (1 s lifetime).
  const expired = await mustCallsign([
    'tokens',
    'mint',
    '--dir',
    paths.jwks,
    '--iss',
    issuerUrl,
    '--sub',
    'gateway',
    '--aud',
    'orders',
    '--scope',
    'orders:read',
    '--ttl',
    '1s',
  ])
  const loot = intruderLoot(paths)
  mkdirSync(loot.dir, { recursive: true, mode: 0o700 })
  writeFileSync(loot.expiredToken, expired.trim(), { mode: 0o600 })
  copyFileSync(keyFile(paths, 'warehouse'), loot.stolenKey)
  copyFileSync(join(paths.certs, 'ca', 'ca.crt'), loot.ca)

  async function usable(file: string): Promise<boolean> {
    if (!existsSync(file)) return false
    try {
      const record = await keyStore.find(parseApiKey(readFileSync(file, 'utf8').trim()).id)
      const expires = record?.expiresAt ? Date.parse(record.expiresAt) : Number.POSITIVE_INFINITY
      return record?.state === 'active' && record.rotatedTo === null && expires - Date.now() > 7 * DAY
    } catch {
      return false
    }
  }
}

function certificateFresh(file: string): boolean {
  if (!existsSync(file)) return false
  return Date.parse(new X509Certificate(readFileSync(file)).validTo) - Date.now() > CERT_RENEW_BEFORE
}
