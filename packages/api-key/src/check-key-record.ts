import type { ApiKeyRecord } from './api-key-record.js'
import { KeyStoreError } from './key-store-error.js'
import { validateRecord } from './lib/validate-record.js'

/**
 * A valid key record as a frozen copy holding exactly the known fields, or a `KeyStoreError`
 * (`ERR_INVALID_KEY_RECORD`) naming the first problem. Every store checks what it is given with it,
 * so the file store and a database-backed store accept exactly the same records.
 *
 * @example
 * const record = checkKeyRecord(JSON.parse(row.record))
 */
export function checkKeyRecord(input: unknown): ApiKeyRecord {
  const record = validateRecord(input)
  if (typeof record === 'string') throw new KeyStoreError('ERR_INVALID_KEY_RECORD', record)
  return record
}
