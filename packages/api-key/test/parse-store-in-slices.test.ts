import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ApiKeyRecord } from '../src/index.js'
import {
  changesInSlices,
  MOST_CHANGES_AT_ONCE,
  type ParsedStore,
  parseStoreBytes,
  parseStoreInSlices,
} from '../src/lib/parse-store-in-slices.js'
import { parseStoreText, serializeStore } from '../src/lib/store-file-format.js'
import { activeRecord, bulkId, bulkRecords, revokedRecord } from './support/bulk-store.js'
import { turnsDuring } from './support.js'

const HASH = `sha256:${'ab'.repeat(32)}`

/** The records of a parse, or its message. */
const recordsOf = (parsed: ParsedStore | string) => (typeof parsed === 'string' ? parsed : parsed.records)

describe('parseStoreInSlices', () => {
  it('gives exactly what parseStoreText gives, for the store layout and for any labels, multi-byte characters included (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.dictionary(
            fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}$/),
            fc.string({ maxLength: 12, unit: 'binary' }),
          ),
          {
            maxLength: 6,
          },
        ),
        async (labelSets) => {
          const records: ApiKeyRecord[] = labelSets.map((labels, i) => ({
            ...activeRecord(bulkId(i), HASH),
            labels,
          }))
          const text = serializeStore(records)
          const expected = parseStoreText(text)
          expect(recordsOf(await parseStoreInSlices(Buffer.from(text)))).toEqual(expected)
          expect(recordsOf(parseStoreBytes(Buffer.from(text)))).toEqual(expected)
          expect(recordsOf(await parseStoreInSlices(Buffer.from(text.replace(/\n\s*/g, ''))))).toEqual(
            expected,
          ) // compact, by hand
        },
      ),
      { numRuns: 100 },
    )
  })

  it.each([
    ['a duplicate id', (text: string) => text.replace(bulkId(1), bulkId(0))],
    ['an invalid record', (text: string) => text.replace('"orders:read"', '"not a scope"')],
    ['a cut-short file', (text: string) => text.slice(0, -20)],
    ['trailing garbage', (text: string) => `${text}x`],
    ['another version', (text: string) => text.replace('"version": 1', '"version": 2')],
  ])('refuses %s with the message parseStoreText gives', async (_case, damage) => {
    const text = damage(serializeStore(bulkRecords(3)))
    const expected = parseStoreText(text)
    expect(typeof expected).toBe('string')
    expect(await parseStoreInSlices(Buffer.from(text))).toBe(expected)
    expect(parseStoreBytes(Buffer.from(text))).toBe(expected)
  })

  it('gives the event loop turns while it parses a large store', async () => {
    const text = serializeStore(bulkRecords(5000))
    const { result, turns } = await turnsDuring(() => parseStoreInSlices(Buffer.from(text), undefined, 0))
    expect((result as ParsedStore).records.size).toBe(5000)
    expect(turns).toBeGreaterThan(100)
  })

  it('takes the records whose bytes did not change from the previous parse, and parses the others', async () => {
    const records = bulkRecords(6)
    const first = parseStoreBytes(Buffer.from(serializeStore(records))) as ParsedStore
    const changed = [
      ...records.slice(0, 2),
      revokedRecord(records[2]!), // longer
      records[3]!,
      { ...records[4]!, secretHash: HASH }, // the same length
      records[5]!,
      activeRecord(bulkId(6), HASH), // appended
    ]
    const text = serializeStore(changed)
    const second = (await parseStoreInSlices(Buffer.from(text), first)) as ParsedStore
    expect(second.records).toEqual(parseStoreText(text))
    for (const i of [0, 1, 3, 5]) expect(second.records.get(bulkId(i))).toBe(first.records.get(bulkId(i)))
    for (const i of [2, 4]) expect(second.records.get(bulkId(i))).not.toBe(first.records.get(bulkId(i)))
    expect(second.records.get(bulkId(4))?.secretHash).toBe(HASH)
    expect(recordsOf(parseStoreBytes(Buffer.from(text), first))).toEqual(second.records)
  })
})

describe('changesInSlices', () => {
  type Edit =
    | { op: 'revoke' | 'relabel' | 'remove' | 'move to end' | 'copy id of first'; at: number }
    | { op: 'append' }
  const edit = fc.oneof(
    fc.record({
      op: fc.constantFrom('revoke', 'relabel', 'remove', 'move to end', 'copy id of first'),
      at: fc.nat({ max: 7 }),
    }),
    fc.record({ op: fc.constant('append') }),
  ) as fc.Arbitrary<Edit>
  const apply = (records: ApiKeyRecord[], edits: readonly Edit[]): ApiKeyRecord[] => {
    const next = [...records]
    let appended = 100
    for (const e of edits) {
      if (e.op === 'append') {
        next.push(activeRecord(bulkId(appended++), HASH))
        continue
      }
      const i = e.at % Math.max(next.length, 1)
      const record = next[i]
      if (record === undefined) continue
      if (e.op === 'revoke') next[i] = revokedRecord(record)
      if (e.op === 'relabel') next[i] = { ...record, labels: { team: `t${e.at}` } }
      if (e.op === 'remove') next.splice(i, 1)
      if (e.op === 'move to end') next.push(...next.splice(i, 1))
      if (e.op === 'copy id of first' && i > 0) next[i] = { ...record, id: next[0]!.id }
    }
    return next
  }

  it('gives the records of any edited file as the live map then holds them, in the order of the file, or undefined when the file is not the last one with records changed in place and appended (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 8 }), fc.array(edit, { maxLength: 5 }), async (size, edits) => {
        const records = bulkRecords(size)
        const previous = parseStoreBytes(Buffer.from(serializeStore(records))) as ParsedStore
        const edited = apply(records, edits)
        const text = serializeStore(edited)
        const changes = await changesInSlices(Buffer.from(text), previous)
        // (an empty store's file, `"keys": []`, is not in the layout read a record at a time)
        const inPlaceOrAppended = edits.every(
          (e) => e.op === 'revoke' || e.op === 'relabel' || e.op === 'append',
        )
        if (size > 0 && inPlaceOrAppended) expect(changes).toBeDefined()
        if (changes === undefined) return
        const live = previous.records
        const before = new Map(live)
        for (const record of changes.changed) live.set(record.id, record)
        const expected = parseStoreText(text) as Map<string, ApiKeyRecord>
        expect(typeof expected).not.toBe('string')
        expect([...live.entries()]).toEqual([...expected.entries()])
        expect(changes.parsed.records).toBe(live)
        // only what changed is new; every other record is the object already in the map
        for (const [id, record] of live) {
          if (!changes.changed.some((c) => c.id === id)) expect(record).toBe(before.get(id))
        }
        expect(changes.changed.length).toBeLessThanOrEqual(edits.length)
        // and the next reload compares with this file
        const again = await changesInSlices(Buffer.from(text), changes.parsed)
        expect(again?.changed).toEqual([])
      }),
      { numRuns: 300 },
    )
  })

  it('is undefined for a file parsed in one go (another layout): it cannot be compared a record at a time', async () => {
    const records = bulkRecords(3)
    const previous = parseStoreBytes(
      Buffer.from(serializeStore(records).replace(/\n\s*/g, '')),
    ) as ParsedStore
    expect(previous.inStoreLayout).toBe(false)
    expect(await changesInSlices(Buffer.from(serializeStore(records)), previous)).toBeUndefined()
  })

  it('is undefined for more changes than it sets in one turn (a bulk change), and gives them up to that', async () => {
    const records = bulkRecords(MOST_CHANGES_AT_ONCE + 1)
    const previous = parseStoreBytes(Buffer.from(serializeStore(records))) as ParsedStore
    const all = records.map(revokedRecord)
    expect(await changesInSlices(Buffer.from(serializeStore(all)), previous)).toBeUndefined()
    const most = [...all.slice(0, -1), records.at(-1)!]
    const changes = await changesInSlices(Buffer.from(serializeStore(most)), previous)
    expect(changes?.changed).toHaveLength(MOST_CHANGES_AT_ONCE)
  })

  it('gives the event loop turns while it compares a large store', async () => {
    const records = bulkRecords(5000)
    const previous = parseStoreBytes(Buffer.from(serializeStore(records))) as ParsedStore
    records[4000] = revokedRecord(records[4000]!)
    const text = serializeStore(records)
    const { result, turns } = await turnsDuring(() => changesInSlices(Buffer.from(text), previous, 0))
    expect(result?.changed).toEqual([records[4000]])
    expect(turns).toBeGreaterThan(100)
  })
})
