import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setImmediate as turn } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
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

  it('keeps waiting events while the file cannot be opened, counts what the full buffer drops, says so in health(), and resumes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'callsign-audit-')), 'not-yet')
    const sink = jsonLinesAuditSink(join(dir, 'audit.jsonl'), { maxBufferedBytes: 1024, retryMs: 10 })
    sink.write(event(0))
    await vi.waitFor(() => expect(sink.health()).toMatchObject({ state: 'failing', lastError: 'ENOENT' }))
    for (let n = 1; n < 40; n++) sink.write(event(n))
    const health = sink.health()
    expect(health.dropped).toBeGreaterThan(0)
    expect(health.pending + health.dropped).toBe(40)
    mkdirSync(dir)
    await vi.waitFor(() => expect(sink.health()).toMatchObject({ state: 'ok', pending: 0, lastError: null }))
    sink.write(event(40))
    await sink.close()
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    const callers = lines.filter((line) => line.caller).map((line) => line.caller)
    expect(lines.filter((line) => 'dropped' in line)).toEqual([
      { v: 1, time: event(40).time, dropped: health.dropped },
    ])
    expect(callers).toHaveLength(41 - health.dropped)
    expect(callers.at(-1)).toBe('svc-40')
  })

  const noTmpfs = tmpfsUnavailable()
  if (noTmpfs) console.warn(`skipping the full-disk audit test: ${noTmpfs}`)

  it.skipIf(noTmpfs !== undefined)(
    'recovers after a real full disk (a small tmpfs): resumes once space is freed, every event written or counted in a dropped line',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'callsign-audit-full-'))
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', dir]).status).toBe(0)
      try {
        writeFileSync(join(dir, 'filler'), Buffer.alloc(96 * 1024))
        const file = join(dir, 'audit.jsonl')
        const sink = jsonLinesAuditSink(file, { maxBufferedBytes: 8 * 1024, retryMs: 10 })
        let n = 0
        // Write until the sink has met the full disk: on a loaded machine its buffer may fill (and
        // drop, counted) before the first failed write comes back, so wait for the error itself.
        await vi.waitFor(
          async () => {
            for (let i = 0; i < 10; i++) sink.write(event(n++))
            await turn()
            expect(sink.health()).toMatchObject({ state: 'failing', lastError: 'ENOSPC' })
          },
          { timeout: 10_000, interval: 1 },
        )
        for (let more = 0; more < 200; more++) sink.write(event(n++)) // the buffer fills: drops
        expect(sink.dropped).toBeGreaterThan(0)
        rmSync(join(dir, 'filler'))
        await vi.waitFor(() => expect(sink.health()).toMatchObject({ state: 'ok', pending: 0 }), {
          timeout: 5000,
        })
        sink.write(event(n++))
        await sink.close()
        const lines = readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line.length > 0)
        const parsed = lines.flatMap((line) => {
          try {
            return [JSON.parse(line) as { caller?: string; dropped?: number }]
          } catch {
            return [] // the line the full disk cut short, closed and written again in full after it
          }
        })
        expect(lines.length - parsed.length).toBeLessThanOrEqual(1)
        const callers = parsed.filter((line) => line.caller).map((line) => line.caller)
        const reported = parsed.reduce((sum, line) => sum + (line.dropped ?? 0), 0)
        expect(new Set(callers).size).toBe(callers.length)
        expect(reported).toBe(sink.dropped)
        expect(callers.length + reported).toBe(n)
        expect(callers.at(-1)).toBe(`svc-${n - 1}`)
      } finally {
        spawnSync('umount', ['-l', dir]) // lazy: a file still open on it must not hide the test's own failure
        rmSync(dir, { recursive: true, force: true })
      }
    },
    30_000,
  )
})

/** Why a small tmpfs cannot be mounted here, or undefined when it can. */
function tmpfsUnavailable(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'callsign-tmpfs-probe-'))
  try {
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' })
    if (mount.error) return `mount is not available (${mount.error.message})`
    if (mount.status !== 0) return `mounting a tmpfs is not permitted here (${mount.stderr.trim()})`
    spawnSync('umount', [dir])
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
