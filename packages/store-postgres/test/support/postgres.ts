import pg from 'pg'

/** The test database: PostgreSQL on loopback, trust auth. Override with CALLSIGN_TEST_POSTGRES. */
export const DATABASE_URL = process.env.CALLSIGN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test'

/**
 * Whether the suites that need PostgreSQL run. When the database cannot be reached they are skipped
 * with the reason printed, unless CALLSIGN_REQUIRE_POSTGRES=1 (CI), where that is a failure.
 */
export async function postgresReachable(suite: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (error) {
    const reason = `PostgreSQL at ${new URL(DATABASE_URL).host} is not reachable (${(error as Error).message})`
    if (process.env.CALLSIGN_REQUIRE_POSTGRES === '1') {
      throw new Error(`${suite}: ${reason}, and CALLSIGN_REQUIRE_POSTGRES=1 requires it`)
    }
    console.warn(`skipping ${suite}: ${reason}; set CALLSIGN_REQUIRE_POSTGRES=1 to make this a failure`)
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

let schemas = 0

/**
 * A schema name of its own for one test file's store: the file's tag, this process's pid and a
 * counter, so concurrent runs on one database never share tables. Dropped by {@link dropSchema}.
 */
export function testSchema(tag: string): string {
  schemas++
  return `t_${tag}_${process.pid}_${schemas}`
}

/** Runs one statement on a connection of its own. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end().catch(() => {})
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}

/** Resolves once `check` is true, polling; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
