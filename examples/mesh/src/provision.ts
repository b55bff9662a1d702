import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileKeyStore, parseApiKey } from '@callsign/api-key'
import { writeFileAtomic } from '@callsign/core'
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

/**
 * Creates what the mesh needs, with the real `callsign` command: on the first run the development CA,
 * the issuer's signing keys and the API keys; on every run fresh service certificates and any key
 * that is missing, revoked or close to expiry. Keys land in `<state>/secrets/*.key` (mode 0600).
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
  const crl = join(paths.certs, 'ca', 'ca.crl')
  if (!existsSync(crl)) {
    // a CA made before `certs init` wrote its (empty) revocation list
    const ca = {
      cert: readFileSync(join(paths.certs, 'ca', 'ca.crt')),
      key: readFileSync(join(paths.certs, 'ca', 'ca.key')),
    }
    await writeFileAtomic(crl, createRevocationList({ ca, revoked: [] }), { mode: 0o644 })
  }
  await Promise.all(
    SERVICES.map((service) =>
      mustCallsign(['certs', 'issue', service, '--dir', paths.certs, '--namespace', 'shop']),
    ),
  )
  say(`issued ${SERVICES.length} service certificates (SPIFFE IDs spiffe://mesh.local/ns/shop/sa/<service>)`)

  if (!existsSync(join(paths.jwks, 'jwks.json'))) {
    await mustCallsign(['jwks', 'generate', '--dir', paths.jwks])
    say('generated the issuer signing key')
  }

  const keyStore = fileKeyStore(paths.keyStore, { watch: false })
  const created: string[] = []
  for (const [owner, scopes] of Object.entries(KEYS)) {
    const file = join(paths.secrets, `${owner}.key`)
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
  writeFileSync(join(paths.secrets, 'intruder-expired.jwt'), expired.trim(), { mode: 0o600 })

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
