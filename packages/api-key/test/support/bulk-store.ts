import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { type ApiKeyRecord, generateApiKey } from '../../src/index.js'
import { serializeStore } from '../../src/lib/store-file-format.js'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** The i-th bulk key id: `Bulk` and i in base62, 12 characters. Never the id of a generated key by chance. */
export function bulkId(i: number): string {
  let text = ''
  for (let n = i; text.length < 8; n = Math.floor(n / 62)) text = BASE62[n % 62]! + text
  return `Bulk${text}`
}

/** An active record for a key id and secret hash, valid for a day. */
export function activeRecord(id: string, secretHash: string, owner = 'billing'): ApiKeyRecord {
  return {
    id,
    owner,
    scopes: ['orders:read'],
    secretHash,
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    state: 'active' as const,
    revokedAt: null,
    rotatedFrom: null,
    rotatedTo: null,
    lastRotatedAt: null,
    graceUntil: null,
    labels: {},
  }
}

/** `record`, revoked (at a fixed time). */
export function revokedRecord(record: ApiKeyRecord): ApiKeyRecord {
  return { ...record, state: 'revoked', revokedAt: '2030-01-01T00:00:00.000Z' }
}

/** `count` active records with random secret hashes (no key exists for them). */
export function bulkRecords(count: number): ApiKeyRecord[] {
  return Array.from({ length: count }, (_, i) =>
    activeRecord(bulkId(i), `sha256:${randomBytes(32).toString('hex')}`, `svc-${i % 97}`),
  )
}

/** `count` real keys and their records, written as one store file. */
export async function writeBulkKeys(path: string, count: number): Promise<string[]> {
  const generated = Array.from({ length: count }, () => generateApiKey())
  await writeFile(path, serializeStore(generated.map((g) => activeRecord(g.id, g.secretHash))), {
    mode: 0o600,
  })
  return generated.map((g) => g.key)
}

/** Writes a store of `count` keys in one go: the bulk path for large stores (not `count` creates). */
export async function writeBulkStore(path: string, count: number): Promise<void> {
  await writeFile(path, serializeStore(bulkRecords(count)), { mode: 0o600 })
}
