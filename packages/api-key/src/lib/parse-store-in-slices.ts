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
 * The most changed records {@link changesInSlices} gives, to be set into the live map in one turn
 * (about 1 ms for 1 000); a larger change (a bulk import, every key rotated) is parsed into a new
 * map in slices instead, as setting 100 000 records took 35 to 60 ms in one turn.
 */
export const MOST_CHANGES_AT_ONCE = 1000

/** A parsed store file, kept so that the next parse can reuse the records whose bytes did not change. */
export interface ParsedStore {
  /** The records by id, in the order of the file. */
  readonly records: Map<string, ApiKeyRecord>
  readonly bytes: Buffer
  /** Whether `bytes` are in the layout the store writes, which is read a record at a time. */
  readonly inStoreLayout: boolean
}

/**
 * The parse of the file this store just wrote: `records`, in the order `serializeStore` wrote them
 * as `text`. A reload compares the next file with it as with a file it read.
 */
export function writtenStore(records: Map<string, ApiKeyRecord>, text: string): ParsedStore {
  const bytes = Buffer.from(text)
  return { records, bytes, inStoreLayout: at(bytes, 0, HEAD) }
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
  const next = storeParser(bytes, previous)
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
  const next = storeParser(bytes, previous)
  for (;;) {
    const step = next()
    if (step !== undefined) return step
  }
}

/** What changed in a store file since an earlier version of it was parsed. */
export interface StoreChanges {
  /** The records whose bytes changed in place, and those appended, in the order of the file. */
  readonly changed: readonly ApiKeyRecord[]
  /** The new file's parse: its `records` is the earlier parse's map, right once `changed` are set in it. */
  readonly parsed: ParsedStore
}

/**
 * The records that changed since `previous`, read a record at a time like
 * {@link parseStoreInSlices}, when the file is `previous`'s with records changed in place and new
 * ones appended: what every write of this store makes. The caller sets them into
 * `previous.records` (one `set` each: the order stays that of the file), so a reload costs what
 * changed and builds no new map of the whole store, whose growth rehashes every entry in one step
 * (at 100 000 keys the longest turn of a reload, 24 ms; bench/RESULTS.md, "Key store").
 * `undefined` for any other file (a record moved, removed or invalid, an id appearing twice, a
 * file edited by hand) and for more than {@link MOST_CHANGES_AT_ONCE} changes:
 * {@link parseStoreInSlices} reads it, and says what is wrong with it.
 */
export async function changesInSlices(
  bytes: Buffer,
  previous: ParsedStore,
  sliceMs = 4,
): Promise<StoreChanges | undefined> {
  if (!previous.inStoreLayout) return undefined
  const next = recordReader(bytes, previous)
  const pause = yieldEvery(sliceMs)
  const changed: ApiKeyRecord[] = []
  const appended = new Set<string>()
  let count = 0
  for (;;) {
    const step = next()
    if (step.kind !== 'record') return undefined
    const { record, before } = step
    count++
    if (record !== before) {
      if (before === undefined) {
        if (previous.records.has(record.id) || appended.has(record.id)) return undefined
        appended.add(record.id)
      } else if (before.id !== record.id) {
        return undefined
      }
      changed.push(record)
      if (changed.length > MOST_CHANGES_AT_ONCE) return undefined
    }
    if (step.followedBy === 'other') return undefined
    if (step.followedBy === 'end') {
      if (count < previous.records.size) return undefined
      return { changed, parsed: { records: previous.records, bytes, inStoreLayout: true } }
    }
    const turn = pause()
    if (turn) await turn
  }
}

/** Parses one record a call: `undefined` while there are more, then the result. */
function storeParser(
  bytes: Buffer,
  previous: ParsedStore | undefined,
): () => ParsedStore | string | undefined {
  const inOneGo = () => {
    const parsed = parseStoreText(bytes.toString('utf8'))
    return typeof parsed === 'string' ? parsed : { records: parsed, bytes, inStoreLayout: false }
  }
  const next = recordReader(bytes, previous)
  const records = new Map<string, ApiKeyRecord>()
  return () => {
    const step = next()
    if (step.kind === 'other layout') return inOneGo()
    if (step.kind === 'invalid') return `is invalid: ${step.problem}`
    const { record } = step
    if (records.has(record.id)) return `is invalid: the key id ${record.id} appears twice`
    records.set(record.id, record)
    if (step.followedBy === 'other') return inOneGo()
    return step.followedBy === 'end' ? { records, bytes, inStoreLayout: true } : undefined
  }
}

type ReadStep =
  | {
      readonly kind: 'record'
      /** `before` itself when the bytes are those it was read from. */
      readonly record: ApiKeyRecord
      /** The record at the same place in the previous file, if there is one. */
      readonly before: ApiKeyRecord | undefined
      /** What comes after it: another record, the end of the file, or something else. */
      readonly followedBy: 'record' | 'end' | 'other'
    }
  | { readonly kind: 'invalid'; readonly problem: string }
  /** Not the layout the store writes: to be parsed in one go. */
  | { readonly kind: 'other layout' }

/**
 * Reads the next record of a file in the store's own layout, a call each, and beside it the
 * previous file's record at the same place: its map holds the records in the order of its file,
 * and a second offset walks its bytes.
 */
function recordReader(bytes: Buffer, previous: ParsedStore | undefined): () => ReadStep {
  const otherLayout = { kind: 'other layout' } as const
  if (!at(bytes, 0, HEAD)) return () => otherLayout
  const old = previous?.inStoreLayout ? previous : undefined
  const olds = old?.records.values()
  let start = HEAD.length
  let oldStart = HEAD.length
  return () => {
    if (!at(bytes, start, RECORD_START)) return otherLayout
    const found = bytes.indexOf(RECORD_END, start)
    if (found < 0) return otherLayout
    const end = found + RECORD_END.length
    const before: ApiKeyRecord | undefined = olds?.next().value
    let record: ApiKeyRecord | string
    if (before !== undefined && sameBytes(old!.bytes, oldStart, bytes, start, end)) {
      record = before
      oldStart += end - start + BETWEEN.length
    } else {
      if (before !== undefined)
        oldStart = old!.bytes.indexOf(RECORD_END, oldStart) + RECORD_END.length + BETWEEN.length
      let value: unknown
      try {
        value = JSON.parse(bytes.toString('utf8', start, end))
      } catch {
        return otherLayout
      }
      record = validateRecord(value)
      if (typeof record === 'string') return { kind: 'invalid', problem: record }
    }
    start = end + BETWEEN.length
    return { kind: 'record', record, before, followedBy: following(bytes, end) }
  }
}

/** What follows a record that ends at `end`. */
function following(bytes: Buffer, end: number): 'record' | 'end' | 'other' {
  if (at(bytes, end, BETWEEN)) return 'record'
  if (end + TAIL.length === bytes.length && at(bytes, end, TAIL)) return 'end'
  return 'other'
}

/** Whether `old` holds, from `oldStart`, the bytes of `bytes` from `start` to `end`. */
function sameBytes(old: Buffer, oldStart: number, bytes: Buffer, start: number, end: number): boolean {
  const oldEnd = oldStart + end - start
  return oldEnd <= old.length && bytes.compare(old, oldStart, oldEnd, start, end) === 0
}

/** Whether `bytes` holds `marker` at `offset`. */
function at(bytes: Buffer, offset: number, marker: Buffer): boolean {
  return (
    offset + marker.length <= bytes.length &&
    bytes.compare(marker, 0, marker.length, offset, offset + marker.length) === 0
  )
}
