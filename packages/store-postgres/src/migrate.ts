import { KeyStoreError } from '@callsign/api-key'
import pg from 'pg'
import { parseStoreUrl, type SchemaNames, schemaNames } from './lib/schema-names.js'
import { storeFailure } from './lib/store-failure.js'

/** The schema versions, in order; a released migration is never edited, only followed by a new one. */
const MIGRATIONS: readonly ((names: SchemaNames) => string)[] = [
  (n) => `
    CREATE TABLE ${n.keys} (
      id text PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z]{12}$'),
      owner text NOT NULL,
      state text NOT NULL CHECK (state IN ('active', 'revoked')),
      record jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ON ${n.keys} (owner);`,
  (n) => `
    CREATE TABLE ${n.replay} (
      key_hash bytea PRIMARY KEY,
      until_ms bigint NOT NULL
    );
    CREATE INDEX ON ${n.replay} (until_ms);
    CREATE TABLE ${n.failures} (
      rule text NOT NULL,
      key text NOT NULL,
      tokens double precision NOT NULL,
      at_ms bigint NOT NULL,
      PRIMARY KEY (rule, key)
    );
    CREATE INDEX ON ${n.failures} (at_ms);`,
]

/** The schema version this release reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

export interface MigrateOptions {
  /** The schema that holds the tables. Default: the URL's `?schema=`, else `callsign`. */
  readonly schema?: string
}

export interface MigrateResult {
  /** The versions applied by this call; empty when the schema was already current. */
  readonly applied: readonly number[]
  readonly version: number
}

/**
 * Brings the key store's schema up to {@link SCHEMA_VERSION}: creates the schema and its tables on
 * an empty database, applies only the missing versions otherwise, and does nothing when current.
 * One transaction under an advisory lock, so concurrent runs wait for each other and a failed run
 * changes nothing. Never run by a store or a verifier: call it (or `callsign store migrate`) when
 * deploying. Rejects with `ERR_KEY_STORE_SCHEMA` when the database is newer than this release.
 *
 * @example
 * await migrate('postgres://callsign@db.internal/callsign')
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const { connectionString, schema } = parseStoreUrl(url, 'migrate')
  const names = schemaNames(options.schema ?? schema, 'migrate')
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: 10_000,
  })
  client.on('error', () => {}) // a dropped connection rejects the query in progress
  try {
    await client.connect()
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`callsign.migrate.${names.schema}`])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${names.schema}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    )
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${names.migrations}`,
    )
    const current = rows[0]?.version ?? 0
    if (current > SCHEMA_VERSION) {
      throw new KeyStoreError(
        'ERR_KEY_STORE_SCHEMA',
        `the key store's schema is at version ${current}, newer than this release's ${SCHEMA_VERSION}`,
      )
    }
    const applied: number[] = []
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      await client.query((MIGRATIONS[version - 1] as (n: SchemaNames) => string)(names))
      await client.query(`INSERT INTO ${names.migrations} (version) VALUES ($1)`, [version])
      applied.push(version)
    }
    await client.query('COMMIT')
    return { applied, version: SCHEMA_VERSION }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw storeFailure(error)
  } finally {
    await client.end().catch(() => {})
  }
}
