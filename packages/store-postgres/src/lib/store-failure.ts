import { KeyStoreError } from '@callsign/api-key'

/** PostgreSQL's codes for a schema or table that does not exist. */
const MISSING = new Set(['3F000', '42P01'])

/**
 * A database failure as a `KeyStoreError`: a missing schema is `ERR_KEY_STORE_SCHEMA` (run the
 * migration; the message names the library's `migrate`, never a command: the CLI adds its own
 * hint), anything else (refused connection, timeout, cancelled statement) is
 * `ERR_KEY_STORE_UNAVAILABLE`, its message saying why from the driver's error code (a refused login,
 * no such database, `ECONNREFUSED`…). The driver's error goes into `cause`; the message names neither
 * the connection string nor any value.
 */
export function storeFailure(cause: unknown, what = 'key store'): KeyStoreError {
  if (cause instanceof KeyStoreError) return cause
  const code = (cause as { code?: unknown } | null)?.code
  if (typeof code === 'string' && MISSING.has(code)) {
    return new KeyStoreError(
      'ERR_KEY_STORE_SCHEMA',
      `the PostgreSQL ${what} has no tables: it has not been migrated (\`migrate()\`)`,
      { cause },
    )
  }
  return new KeyStoreError('ERR_KEY_STORE_UNAVAILABLE', `the PostgreSQL ${what} ${why(code)}`, { cause })
}

/** Why the database could not be used, from the driver's error code only (never its message, which may hold values). */
function why(code: unknown): string {
  if (typeof code !== 'string') return 'did not answer'
  if (code.startsWith('28')) return `refused the login (${code}): check the user and password of the URL`
  if (code === '3D000') return 'has no such database (3D000)'
  if (/^[0-9A-Z]{5}$/.test(code)) return `failed (SQLSTATE ${code})`
  return `did not answer (${code})`
}
