import type { ApiKeyRecord } from '../api-key-record.js'
import { parseStoreText } from './store-file-format.js'
import { validateRecord } from './validate-record.js'
import { yieldEvery } from './yield-every.js'

const HEAD = Buffer.from('{\n  "version": 1,\n  "keys": [\n')
const RECORD_START = Buffer.from('    {')
/** A record of the store's own layout ends here: a raw newline never occurs inside a JSON string. */
const RECORD_END = Buffer.from('\n    }')
const BETWEEN = Buffer.from(',\n')
const TAIL = Buffer.from('\n  ]\n}\n')

/**
 * Parses a store file's bytes a record at a time, giving the event loop a turn every few
 * milliseconds, so a service reloading 100 000 keys keeps answering requests: each record is
 * decoded and parsed on its own (no step handles the whole file). This works for the layout the
 * store itself writes (`serializeStore`); any other text (a file edited by hand) is parsed in one
 * go by {@link parseStoreText}, with the same result and the same messages. The markers are ASCII,
 * and a UTF-8 character never contains an ASCII byte, so a record is never cut inside a character.
 */
export async function parseStoreInSlices(
  bytes: Buffer,
  sliceMs = 4,
): Promise<Map<string, ApiKeyRecord> | string> {
  const inOneGo = () => parseStoreText(bytes.toString('utf8'))
  if (!at(bytes, 0, HEAD)) return inOneGo()
  const pause = yieldEvery(sliceMs)
  const records = new Map<string, ApiKeyRecord>()
  let start = HEAD.length
  for (;;) {
    if (!at(bytes, start, RECORD_START)) return inOneGo()
    const end = bytes.indexOf(RECORD_END, start)
    if (end < 0) return inOneGo()
    let value: unknown
    try {
      value = JSON.parse(bytes.toString('utf8', start, end + RECORD_END.length))
    } catch {
      return inOneGo()
    }
    const record = validateRecord(value)
    if (typeof record === 'string') return `is invalid: ${record}`
    if (records.has(record.id)) return `is invalid: the key id ${record.id} appears twice`
    records.set(record.id, record)
    start = end + RECORD_END.length
    if (at(bytes, start, BETWEEN)) start += BETWEEN.length
    else if (start + TAIL.length === bytes.length && at(bytes, start, TAIL)) return records
    else return inOneGo()
    const turn = pause()
    if (turn) await turn
  }
}

/** Whether `bytes` holds `marker` at `offset`. */
function at(bytes: Buffer, offset: number, marker: Buffer): boolean {
  return (
    offset + marker.length <= bytes.length &&
    bytes.compare(marker, 0, marker.length, offset, offset + marker.length) === 0
  )
}
