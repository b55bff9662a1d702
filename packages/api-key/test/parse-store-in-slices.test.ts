import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ApiKeyRecord } from '../src/index.js'
import { parseStoreInSlices } from '../src/lib/parse-store-in-slices.js'
import { parseStoreText, serializeStore } from '../src/lib/store-file-format.js'
import { activeRecord, bulkId, bulkRecords } from './support/bulk-store.js'

const HASH = `sha256:${'ab'.repeat(32)}`

/** Counts the event loop turns taken while `work` runs. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0
  let running = true
  const spin = () => {
    if (!running) return
    turns++
    setImmediate(spin)
  }
  setImmediate(spin)
  const result = await work()
  running = false
  return { result, turns }
}

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
          expect(await parseStoreInSlices(Buffer.from(text))).toEqual(expected)
          expect(await parseStoreInSlices(Buffer.from(text.replace(/\n\s*/g, '')))).toEqual(expected) // compact, by hand
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
  })

  it('gives the event loop turns while it parses a large store', async () => {
    const text = serializeStore(bulkRecords(5000))
    const { result, turns } = await turnsDuring(() => parseStoreInSlices(Buffer.from(text), 0))
    expect((result as Map<string, ApiKeyRecord>).size).toBe(5000)
    expect(turns).toBeGreaterThan(100)
  })
})
