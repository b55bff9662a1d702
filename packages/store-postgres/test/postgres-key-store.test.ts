import { createApiKey, rotateApiKey } from '@callsign/api-key'
import { migrate, type PostgresKeyStore, postgresKeyStore } from '@callsign/store-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_URL, dropSchema, postgresReachable, sql, testSchema } from './support/postgres.js'

const postgres = await postgresReachable('the PostgreSQL key store tests')
const schema = testSchema('store')
let store: PostgresKeyStore
beforeAll(async () => {
  if (!postgres) return
  await migrate(DATABASE_URL, { schema })
  store = postgresKeyStore(`${DATABASE_URL}?schema=${schema}`)
})
afterAll(async () => {
  if (!postgres) return
  await store.close()
  await dropSchema(schema)
})
const count = async () => Number((await sql(`SELECT count(*) AS n FROM "${schema}".api_keys`))[0]?.n)

describe.skipIf(!postgres)('postgresKeyStore', () => {
  it('rotates in one transaction: the new key and the old key’s rotatedTo are written together', async () => {
    const { record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const rotated = await rotateApiKey(store, record.id, { graceMs: 60_000 })
    expect(await store.find(rotated.record.id)).toEqual(rotated.record)
    expect(await store.find(record.id)).toEqual(rotated.previous)
    expect(rotated.previous.rotatedTo).toBe(rotated.record.id)
  })

  it('writes nothing when the change to the old key fails: no orphan new key', async () => {
    const { record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const other = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const before = await count()
    const next = { ...other.record, id: 'ZZZZZZZZZZZZ' }
    await expect(
      store.rotate(record.id, next, (current) => ({ ...current, scopes: ['not a scope'] })),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY_RECORD' })
    expect(await count()).toBe(before)
    expect(await store.find('ZZZZZZZZZZZZ')).toBeUndefined()
  })

  it('with listen: false opens no listening connection and is ready at once', async () => {
    const oneShot = postgresKeyStore(DATABASE_URL, { schema, listen: false })
    try {
      await oneShot.ready()
      expect(oneShot.isStale()).toBe(true)
      expect(oneShot.health()).toMatchObject({
        state: 'stale',
        listening: false,
        lastSuccessAgeSeconds: null,
      })
      expect((await oneShot.list()).length).toBeGreaterThan(0)
      const listening = await sql(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [
        `callsign-key-store-listen ${schema}`,
      ])
      expect(listening.length).toBe(1) // the shared store's, not this one's
    } finally {
      await oneShot.close()
    }
  })
})
