import { migrate } from '@callsign/store-postgres'
import { afterAll, beforeAll } from 'vitest'
import { DATABASE_URL, dropSchema, postgresReachable, testSchema } from './postgres.js'

/**
 * A test file's own schema on the test database: whether PostgreSQL is reachable (the file's suites
 * skip when not, see `postgresReachable`), and a schema of its own, migrated before the file's
 * `beforeAll` hooks when `migrated`, dropped after its `afterAll` hooks (which close its stores first).
 */
export async function testDatabase(
  suite: string,
  tag: string,
  options: { readonly migrated?: boolean } = {},
): Promise<{ readonly postgres: boolean; readonly schema: string }> {
  const postgres = await postgresReachable(suite)
  const schema = testSchema(tag)
  if (postgres) {
    if (options.migrated) beforeAll(() => migrate(DATABASE_URL, { schema }).then(() => {}))
    afterAll(() => dropSchema(schema))
  }
  return { postgres, schema }
}
