import { ConfigError } from '@callsign/core'
import { migrate, postgresKeyStore, SCHEMA_VERSION } from '@callsign/store-postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { DATABASE_URL, dropSchema, postgresReachable, sql, testSchema } from './support/postgres.js'

const postgres = await postgresReachable('the PostgreSQL migration tests')
const used: string[] = []
const schema = () => {
  const name = testSchema('migrate')
  used.push(name)
  return name
}
afterAll(async () => {
  if (postgres) for (const name of used) await dropSchema(name)
})

const tables = async (name: string) =>
  (
    await sql<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [name],
    )
  ).map((row) => row.table_name)

describe.skipIf(!postgres)('migrate', () => {
  it('creates the schema and its tables on an empty database, then does nothing when re-run', async () => {
    const name = schema()
    expect(await tables(name)).toEqual([])
    expect(await migrate(DATABASE_URL, { schema: name })).toEqual({
      applied: [1, 2],
      version: SCHEMA_VERSION,
    })
    expect(await tables(name)).toEqual(['api_keys', 'auth_failures', 'jwt_replay', 'schema_migrations'])
    await sql(
      `INSERT INTO "${name}".api_keys (id, owner, state, record) VALUES ('AAAAAAAAAAAA', 'x', 'active', '{}')`,
    )
    expect(await migrate(DATABASE_URL, { schema: name })).toEqual({ applied: [], version: SCHEMA_VERSION })
    expect(await sql(`SELECT id FROM "${name}".api_keys`)).toEqual([{ id: 'AAAAAAAAAAAA' }])
    expect(await sql(`SELECT version FROM "${name}".schema_migrations ORDER BY version`)).toEqual([
      { version: 1 },
      { version: 2 },
    ])
  })

  it('applies only the missing version to a version-1 schema, keeping its keys', async () => {
    const name = schema()
    await migrate(DATABASE_URL, { schema: name })
    await sql(`DROP TABLE "${name}".jwt_replay, "${name}".auth_failures`)
    await sql(`DELETE FROM "${name}".schema_migrations WHERE version = 2`)
    await sql(
      `INSERT INTO "${name}".api_keys (id, owner, state, record) VALUES ('AAAAAAAAAAAA', 'x', 'active', '{}')`,
    )
    expect(await migrate(DATABASE_URL, { schema: name })).toEqual({ applied: [2], version: SCHEMA_VERSION })
    expect(await tables(name)).toEqual(['api_keys', 'auth_failures', 'jwt_replay', 'schema_migrations'])
    expect(await sql(`SELECT id FROM "${name}".api_keys`)).toEqual([{ id: 'AAAAAAAAAAAA' }])
  })

  it('lets concurrent runs wait for each other: exactly one applies each version', async () => {
    const name = schema()
    const results = await Promise.all([1, 2, 3, 4].map(() => migrate(DATABASE_URL, { schema: name })))
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, SCHEMA_VERSION])
  })

  it('refuses a database newer than this release with ERR_KEY_STORE_SCHEMA', async () => {
    const name = schema()
    await migrate(DATABASE_URL, { schema: name })
    await sql(`INSERT INTO "${name}".schema_migrations (version) VALUES (99)`)
    await expect(migrate(DATABASE_URL, { schema: name })).rejects.toMatchObject({
      code: 'ERR_KEY_STORE_SCHEMA',
    })
  })

  it('is never run by a store: before it, lookups reject with ERR_KEY_STORE_SCHEMA and no table appears', async () => {
    const name = schema()
    const store = postgresKeyStore(DATABASE_URL, { schema: name })
    try {
      await expect(store.find('AAAAAAAAAAAA')).rejects.toMatchObject({ code: 'ERR_KEY_STORE_SCHEMA' })
      await expect(store.revoke('AAAAAAAAAAAA')).rejects.toMatchObject({ code: 'ERR_KEY_STORE_SCHEMA' })
      expect(await tables(name)).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('rejects a schema name that is not a plain SQL name, and a URL that is not postgres://, with ConfigError', async () => {
    await expect(migrate(DATABASE_URL, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(ConfigError)
    await expect(migrate('mysql://localhost/test')).rejects.toThrow(ConfigError)
    expect(() => postgresKeyStore('keys.json')).toThrow(ConfigError)
    expect(() => postgresKeyStore(DATABASE_URL, { timeoutMs: 0 })).toThrow(ConfigError)
  })
})
