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

interface Span {
  readonly start: number
  readonly end: number
  readonly record: ApiKeyRecord
}

/** A parsed store file, kept so that the next parse can reuse the records whose bytes did not change. */
export interface ParsedStore {
  readonly records: Map<string, ApiKeyRecord>
  readonly bytes: Buffer
  /** Where each record lies in `bytes`, in file order (empty for a file parsed in one go). */
  readonly spans: readonly Span[]
}

/**
 * Parses a store file's bytes a record at a time, giving the event loop a turn every few
 * milliseconds, so a service reloading 100 000 keys keeps answering requests: each record is
 * decoded and parsed on its own (no step handles the whole file). A record whose bytes are those of
 * the record at the same place in `previous` (a write changes records in place and appends new ones)
 * is that record, already checked, and is taken as it is: a reload after one change makes almost
 * nothing new for the garbage collector. This works for the layout the store itself writes
 * (`serializeStore`); any other text (a file edited by hand) is parsed in one go by
 * {@link parseStoreText}, with the same result and the same messages. The markers are ASCII, and a
 * UTF-8 character never contains an ASCII byte, so a record is never cut inside a character.
 */
export async function parseStoreInSlices(
  bytes: Buffer,
  previous?: ParsedStore,
  sliceMs = 4,
): Promise<ParsedStore | string> {
  const next = recordReader(bytes, previous)
  const pause = yieldEvery(sliceMs)
  for (;;) {
    const step = next()
    if (step !== undefined) return step
    const turn = pause()
    if (turn) await turn
  }
}

/** {@link parseStoreInSlices} in one go, for a first load that may block (at startup). */
export function parseStoreBytes(bytes: Buffer, previous?: ParsedStore): ParsedStore | string {
  const next = recordReader(bytes, previous)
  for (;;) {
    const step = next()
    if (step !== undefined) return step
  }
}

/** Reads one record a call: `undefined` while there are more, then the result. */
function recordReader(
  bytes: Buffer,
  previous: ParsedStore | undefined,
): () => ParsedStore | string | undefined {
  const inOneGo = () => {
    const parsed = parseStoreText(bytes.toString('utf8'))
    return typeof parsed === 'string' ? parsed : { records: parsed, bytes, spans: [] }
  }
  const records = new Map<string, ApiKeyRecord>()
  const spans: Span[] = []
  let start = HEAD.length
  if (!at(bytes, 0, HEAD)) return inOneGo
  return () => {
    if (!at(bytes, start, RECORD_START)) return inOneGo()
    const found = bytes.indexOf(RECORD_END, start)
    if (found < 0) return inOneGo()
    const end = found + RECORD_END.length
    const before = previous?.spans[spans.length]
    let record: ApiKeyRecord | string
    if (before !== undefined && sameBytes(previous!.bytes, before, bytes, start, end)) {
      record = before.record
    } else {
      let value: unknown
      try {
        value = JSON.parse(bytes.toString('utf8', start, end))
      } catch {
        return inOneGo()
      }
      record = validateRecord(value)
      if (typeof record === 'string') return `is invalid: ${record}`
    }
    if (records.has(record.id)) return `is invalid: the key id ${record.id} appears twice`
    records.set(record.id, record)
    spans.push({ start, end, record })
    start = end
    if (at(bytes, start, BETWEEN)) {
      start += BETWEEN.length
      return undefined
    }
    if (start + TAIL.length === bytes.length && at(bytes, start, TAIL)) return { records, bytes, spans }
    return inOneGo()
  }
}

function sameBytes(old: Buffer, span: Span, bytes: Buffer, start: number, end: number): boolean {
  return span.end - span.start === end - start && bytes.compare(old, span.start, span.end, start, end) === 0
}

/** Whether `bytes` holds `marker` at `offset`. */
function at(bytes: Buffer, offset: number, marker: Buffer): boolean {
  return (
    offset + marker.length <= bytes.length &&
    bytes.compare(marker, 0, marker.length, offset, offset + marker.length) === 0
  )
}
