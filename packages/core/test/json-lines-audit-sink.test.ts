import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { type AuditEvent, jsonLinesAuditSink } from '../src/index.js'

const event = (n: number): AuditEvent => ({
  v: 1,
  time: '2026-01-01T00:00:00.000Z',
  decision: 'allow',
  reason: 'granted',
  caller: `svc-${n}`,
  scopes: ['orders:read'],
  transport: 'http',
  method: 'GET',
  route: '/orders/:id',
  latencyMs: 0.1,
})

describe('jsonLinesAuditSink', () => {
  it('appends one JSON line per event to a file readable by its owner only', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callsign-audit-')), 'audit.jsonl')
    const sink = jsonLinesAuditSink(file)
    sink.write(event(1))
    sink.write(event(2))
    await sink.close()
    const again = jsonLinesAuditSink(file)
    again.write(event(3))
    await again.close()
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines.map((line) => line.caller)).toEqual(['svc-1', 'svc-2', 'svc-3'])
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('drops and counts events when the destination cannot keep up, then says so', async () => {
    const chunks: string[] = []
    let release: (() => void) | undefined
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk, _encoding, done) {
        chunks.push(String(chunk))
        release = done
      },
    })
    const sink = jsonLinesAuditSink(slow, { maxBufferedBytes: 1024 })
    for (let n = 0; n < 50; n++) sink.write(event(n))
    expect(sink.dropped).toBeGreaterThan(0)
    const dropped = sink.dropped
    while (slow.writableLength > 0 && release) {
      const next = release
      release = undefined
      next()
      await new Promise((resolve) => setImmediate(resolve))
    }
    sink.write(event(99))
    release?.()
    await new Promise((resolve) => setImmediate(resolve))
    const notice = chunks.map((chunk) => JSON.parse(chunk)).find((line) => 'dropped' in line)
    expect(notice).toMatchObject({ v: 1, dropped })
  })
})
