/** Codes of {@link KeyStoreError}. */
export type KeyStoreErrorCode =
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_KEY_EXISTS'
  | 'ERR_KEY_STATE'
  | 'ERR_INVALID_KEY_RECORD'
  | 'ERR_KEY_STORE_LOCKED'
  | 'ERR_KEY_STORE_CONFLICT'
  | 'ERR_KEY_STORE_FULL'
  | 'ERR_KEY_STORE_IO'
  | 'ERR_KEY_STORE_UNAVAILABLE'
  | 'ERR_KEY_STORE_SCHEMA'

/**
 * A key store operation that could not be done: unknown id, duplicate id, a key in the wrong state
 * for the operation, an invalid record, a lock that could not be taken, a store file changed by a
 * writer that did not hold the lock, a file store at its size limit, a file that could not be
 * written, a database that did not answer in time (`ERR_KEY_STORE_UNAVAILABLE`) or whose schema is
 * missing or newer than this release (`ERR_KEY_STORE_SCHEMA`). The message names the key id or the file, never a secret.
 *
 * @example
 * try { await store.revoke(id) } catch (error) {
 *   if (error instanceof KeyStoreError && error.code === 'ERR_KEY_NOT_FOUND') console.error('no such key')
 * }
 */
export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError'
  readonly code: KeyStoreErrorCode

  constructor(code: KeyStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
