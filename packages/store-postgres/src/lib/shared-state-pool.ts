import type pg from 'pg'
import { poolSizeOf, positive } from './positive.js'
import { queryPool } from './query-pool.js'
import { parseStoreUrl, type SchemaNames, schemaNames } from './schema-names.js'

export interface PostgresSharedStateOptions {
  /** The schema `migrate` created the tables in. Default: the URL's `?schema=`, else `callsign`. */
  readonly schema?: string
  /** The longest one call may take, connecting included; past it the call rejects. Default 2 000 ms. */
  readonly timeoutMs?: number
  /** Connections kept. Default 10. */
  readonly poolSize?: number
}

/** The table names and a bounded pool for a shared-state store, its options checked (`ConfigError`). */
export function sharedStatePool(
  url: string,
  options: PostgresSharedStateOptions,
  where: string,
  applicationName: string,
): { names: SchemaNames; pool: pg.Pool } {
  const parsed = parseStoreUrl(url, where)
  const names = schemaNames(options.schema ?? parsed.schema, where)
  const pool = queryPool(parsed.connectionString, {
    max: poolSizeOf(options.poolSize, where),
    timeoutMs: positive(options.timeoutMs, 2000, `${where}: "timeoutMs"`),
    applicationName,
  })
  return { names, pool }
}
