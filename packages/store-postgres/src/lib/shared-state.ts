import type pg from 'pg'
import { poolSizeOf, positive } from './positive.js'
import { queryPool } from './query-pool.js'
import { parseStoreUrl, type SchemaNames, schemaNames } from './schema-names.js'
import { storeFailure } from './store-failure.js'

export interface PostgresSharedStateOptions {
  /** The schema `migrate` created the tables in. Default: the URL's `?schema=`, else `callsign`. */
  readonly schema?: string
  /** The longest one call may take, connecting included; past it the call rejects. Default 2 000 ms. */
  readonly timeoutMs?: number
  /** Connections kept. Default 10. */
  readonly poolSize?: number
}

/** What a shared-state store (replay, failure buckets) is called, for its errors and its connections. */
export interface SharedStateName {
  /** The factory, for `ConfigError` messages: `postgresReplayStore`. */
  readonly where: string
  /** For failure messages (`replay store`), and its connections' `application_name` (`callsign-replay-store`). */
  readonly what: string
}

/** The tables and connections of one shared-state store. */
export interface SharedState {
  readonly names: SchemaNames
  /** One statement; a database failure rejects as the store's `KeyStoreError` (`storeFailure`). */
  query(text: string, values: unknown[]): Promise<pg.QueryResult>
  /** Runs a clean-up statement on every 1000th call, in the background; its failure is ignored. */
  pruneNowAndThen(text: string, values: unknown[]): void
  close(): Promise<void>
}

/** Calls to `pruneNowAndThen` per clean-up statement run. */
const PRUNE_EVERY = 1000

/**
 * The table names and a bounded pool for a shared-state store, its options checked (`ConfigError`).
 * `postgresReplayStore` and `postgresFailureStore` are both built on it, so their factories look
 * alike (signature, naming, `close`): what they share lives here, what differs is their statements.
 */
export function sharedState(
  url: string,
  options: PostgresSharedStateOptions,
  name: SharedStateName,
): SharedState {
  const { where } = name
  const parsed = parseStoreUrl(url, where)
  const names = schemaNames(options.schema ?? parsed.schema, where)
  const pool = queryPool(parsed.connectionString, {
    max: poolSizeOf(options.poolSize, where),
    timeoutMs: positive(options.timeoutMs, 2000, `${where}: "timeoutMs"`),
    applicationName: `callsign-${name.what.replaceAll(' ', '-')}`,
  })
  let calls = 0
  return {
    names,
    async query(text, values) {
      try {
        return await pool.query(text, values)
      } catch (cause) {
        throw storeFailure(cause, name.what)
      }
    },
    pruneNowAndThen(text, values) {
      if (++calls % PRUNE_EVERY === 0) pool.query(text, values).catch(() => {})
    },
    async close() {
      await pool.end().catch(() => {})
    },
  }
}
