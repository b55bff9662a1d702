import { KeyStoreError } from '@callsign/api-key'

/** PostgreSQL's codes for a schema or table that does not exist. */
const MISSING = new Set(['3F000', '42P01'])

/**
 * A database failure as a `KeyStoreError`: a missing schema is `ERR_KEY_STORE_SCHEMA` (run the
 * migration), anything else (refused connection, timeout, cancelled statement) is
 * `ERR_KEY_STORE_UNAVAILABLE`. The driver's error goes into `cause`; the message names neither the
 * connection string nor any value.
 */
export function storeFailure(cause: unknown, what = 'key store'): KeyStoreError {
  if (cause instanceof KeyStoreError) return cause
  const code = (cause as { code?: unknown } | null)?.code
  if (typeof code === 'string' && MISSING.has(code)) {
    return new KeyStoreError(
      'ERR_KEY_STORE_SCHEMA',
      `the PostgreSQL ${what} has no tables: run \`callsign store migrate --store <url>\` first`,
      { cause },
    )
  }
  return new KeyStoreError('ERR_KEY_STORE_UNAVAILABLE', `the PostgreSQL ${what} did not answer`, { cause })
}
