import type { ApiKeyRecord } from '../api-key-record.js'
import { validateRecord } from './validate-record.js'

/** The store file's format version, written as `version`. */
export const STORE_FILE_VERSION = 1

/** Parses a store file's text; returns the records by id, or a short description of the problem. */
export function parseStoreText(text: string): Map<string, ApiKeyRecord> | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'is not valid JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a key store object'
  const file = value as { version?: unknown; keys?: unknown }
  if (file.version !== STORE_FILE_VERSION) {
    return `has version ${JSON.stringify(file.version) ?? 'missing'}; this release reads version ${STORE_FILE_VERSION}`
  }
  if (!Array.isArray(file.keys)) return 'has no "keys" list'
  const records = new Map<string, ApiKeyRecord>()
  for (const raw of file.keys) {
    const record = validateRecord(raw)
    if (typeof record === 'string') return `is invalid: ${record}`
    if (records.has(record.id)) return `is invalid: the key id ${record.id} appears twice`
    records.set(record.id, record)
  }
  return records
}

export function serializeStore(records: Iterable<ApiKeyRecord>): string {
  return `${JSON.stringify({ version: STORE_FILE_VERSION, keys: [...records] }, null, 2)}\n`
}
