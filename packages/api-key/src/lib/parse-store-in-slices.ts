import type { ApiKeyRecord } from '../api-key-record.js'
import { parseStoreText } from './store-file-format.js'
import { validateRecord } from './validate-record.js'
import { yieldEvery } from './yield-every.js'

const HEAD = '{\n  "version": 1,\n  "keys": [\n'
const RECORD_START = '    {'
/** A record of the store's own layout ends here: a raw newline never occurs inside a JSON string. */
const RECORD_END = '\n    }'
const TAIL = '\n  ]\n}\n'

/**
 * Parses a store file a record at a time, giving the event loop a turn every few milliseconds, so a
 * service reloading 100 000 keys keeps answering requests. This works for the layout the store
 * itself writes (`serializeStore`); any other text (a file edited by hand) is parsed in one go by
 * {@link parseStoreText}, with the same result and the same messages.
 */
export async function parseStoreInSlices(
  text: string,
  sliceMs = 4,
): Promise<Map<string, ApiKeyRecord> | string> {
  if (!text.startsWith(HEAD)) return parseStoreText(text)
  const pause = yieldEvery(sliceMs)
  const records = new Map<string, ApiKeyRecord>()
  let at = HEAD.length
  for (;;) {
    if (!text.startsWith(RECORD_START, at)) return parseStoreText(text)
    const end = text.indexOf(RECORD_END, at)
    if (end < 0) return parseStoreText(text)
    let value: unknown
    try {
      value = JSON.parse(text.slice(at, end + RECORD_END.length))
    } catch {
      return parseStoreText(text)
    }
    const record = validateRecord(value)
    if (typeof record === 'string') return `is invalid: ${record}`
    if (records.has(record.id)) return `is invalid: the key id ${record.id} appears twice`
    records.set(record.id, record)
    at = end + RECORD_END.length
    if (text.startsWith(',\n', at)) at += 2
    else if (at + TAIL.length === text.length && text.endsWith(TAIL)) return records
    else return parseStoreText(text)
    const turn = pause()
    if (turn) await turn
  }
}
