import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import type { ApiKeyRecord } from '../../src/index.js'
import { serializeStore } from '../../src/lib/store-file-format.js'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** The i-th bulk key id: `Bulk` and i in base62, 12 characters. Never the id of a generated key by chance. */
export function bulkId(i: number): string {
  let text = ''
  for (let n = i; text.length < 8; n = Math.floor(n / 62)) text = BASE62[n % 62]! + text
  return `Bulk${text}`
}

/** `count` active records with random secret hashes (no key exists for them). */
export function bulkRecords(count: number): ApiKeyRecord[] {
  const now = new Date().toISOString()
  const later = new Date(Date.now() + 86_400_000).toISOString()
  return Array.from({ length: count }, (_, i) => ({
    id: bulkId(i),
    owner: `svc-${i % 97}`,
    scopes: ['orders:read'],
    secretHash: `sha256:${randomBytes(32).toString('hex')}`,
    createdAt: now,
    expiresAt: later,
    state: 'active' as const,
    revokedAt: null,
    rotatedFrom: null,
    rotatedTo: null,
    lastRotatedAt: null,
    graceUntil: null,
    labels: {},
  }))
}

/** Writes a store of `count` keys in one go: the bulk path for large stores (not `count` creates). */
export async function writeBulkStore(path: string, count: number): Promise<void> {
  await writeFile(path, serializeStore(bulkRecords(count)), { mode: 0o600 })
}
