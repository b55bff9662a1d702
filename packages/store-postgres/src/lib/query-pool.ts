import pg from 'pg'

/**
 * A connection pool whose every connect and statement is bounded by `timeoutMs`, whose idle
 * connections never keep a process alive, and whose dropped idle connections are replaced quietly.
 */
export function queryPool(
  connectionString: string,
  options: { readonly max: number; readonly timeoutMs: number; readonly applicationName: string },
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max,
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    application_name: options.applicationName,
    allowExitOnIdle: true,
  })
  pool.on('error', () => {}) // an idle connection that drops is replaced on the next call
  return pool
}
