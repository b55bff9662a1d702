import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ApiKeyRecord } from '../src/index.js'
import { type ParsedStore, parseStoreBytes, parseStoreInSlices } from '../src/lib/parse-store-in-slices.js'
import { parseStoreText, serializeStore } from '../src/lib/store-file-format.js'
import { activeRecord, bulkId, bulkRecords } from './support/bulk-store.js'
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
      { ...records[2]!, state: 'revoked' as const, revokedAt: '2030-01-01T00:00:00.000Z' }, // longer
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
