import { type ApiKeyRecord, apiKeyVerifier, createApiKey, generateApiKey } from '@callsign/api-key'
import { AuthError } from '@callsign/core'
import { type PostgresKeyStore, postgresKeyStore } from '@callsign/store-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authRequest } from '../../../test/support/auth-request.js'
import { activeRecord } from '../../api-key/test/support/bulk-store.js'
import { DATABASE_URL, eventually, sql } from './support/postgres.js'
import { testDatabase } from './support/test-database.js'

const { postgres, schema } = await testDatabase('the PostgreSQL lookup budget test', 'budget', {
  migrated: true,
})
const ACTIVE = 100_000
const keys: string[] = []
let store: PostgresKeyStore

/** `count` active keys, inserted in bulk (hashes only, as the store keeps them); their plaintext in `keys`. */
async function insertKeys(count: number): Promise<void> {
  for (let start = 0; start < count; start += 10_000) {
    const records: ApiKeyRecord[] = []
    for (let i = start; i < Math.min(count, start + 10_000); i++) {
      const { key, id, secretHash } = generateApiKey()
      keys.push(key)
      records.push(activeRecord(id, secretHash, `svc-${i}`))
    }
    await sql(
      `INSERT INTO "${schema}".api_keys (id, owner, state, record)
       SELECT r->>'id', r->>'owner', r->>'state', r FROM jsonb_array_elements($1::jsonb) AS r`,
      [JSON.stringify(records)],
    )
  }
}

beforeAll(async () => {
  if (!postgres) return
  await insertKeys(ACTIVE)
  store = postgresKeyStore(DATABASE_URL, { schema })
  await store.ready()
}, 120_000)
afterAll(async () => {
  if (postgres) await store.close()
})

async function outcome(verifier: ReturnType<typeof apiKeyVerifier>, key: string): Promise<string> {
  try {
    return (await verifier.verify(authRequest({ authorization: `Bearer ${key}` })))?.id ? 'accepted' : 'null'
  } catch (error) {
    if (error instanceof AuthError) return error.reason
    throw error
  }
}
/** Sends every key in `sent`, `parallel` at a time; counts the outcomes. */
async function traffic(
  verifier: ReturnType<typeof apiKeyVerifier>,
  sent: readonly string[],
  parallel: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  let next = 0
  const worker = async () => {
    while (next < sent.length) {
      const result = await outcome(verifier, sent[next++] as string)
      counts.set(result, (counts.get(result) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return counts
}

describe.skipIf(!postgres)('the lookup budget with 100 000 active keys', { timeout: 120_000 }, () => {
  it('knows every key id once ready', () => {
    expect(keys.every((key) => store.knows(key.slice(4, 16)))).toBe(true)
    expect(store.knows('ZZZZZZZZZZZZ')).toBe(false)
  })

  it('refuses no valid caller for the budget under uniform traffic, cache smaller than the key set; unknown ids still spend it', async () => {
    // Defaults: 10 000 cached records, 100 lookups/s. Uniform traffic over all 100 000 keys misses the
    // cache nine times in ten, so almost every request is a lookup, far beyond the budget.
    const verifier = apiKeyVerifier({ store })
    const valid = Array.from({ length: 20_000 }, (_, i) => keys[(i * 7_919) % ACTIVE] as string)
    // At the same time, a flood of well-formed keys that were never issued.
    const unknown = Array.from({ length: 1_000 }, () => generateApiKey().key)
    const [validCounts, unknownCounts] = await Promise.all([
      traffic(verifier, valid, 40),
      traffic(verifier, unknown, 20),
    ])
    expect(Object.fromEntries(validCounts)).toEqual({ accepted: valid.length })
    expect(unknownCounts.get('lookup_rate_limited') ?? 0).toBeGreaterThan(0)
    expect((unknownCounts.get('lookup_rate_limited') ?? 0) + (unknownCounts.get('unknown_key') ?? 0)).toBe(
      unknown.length,
    )
  })

  it('knows a key created after it started listening, from its notification', async () => {
    const writer = postgresKeyStore(DATABASE_URL, { schema, listen: false })
    try {
      const { record } = await createApiKey(writer, { owner: 'late', scopes: ['orders:read'] })
      await eventually(() => store.knows(record.id))
    } finally {
      await writer.close()
    }
  })
})
