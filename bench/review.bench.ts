import { once } from 'node:events'
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { emptyStats, readAuditLog } from '../packages/cli/src/review/read-audit-log.js'
import { type ReviewedCredential, reviewAccess } from '../packages/cli/src/review/review-access.js'

const EVENTS = 1_000_000
const CALLERS = 200

/** Review of one million audit events: events per second, against a plain line count of the same file. */
export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'callsign-review-bench-'))
  const file = join(dir, 'audit.jsonl')
  const out = createWriteStream(file)
  const start = Date.parse('2026-01-01T00:00:00Z')
  for (let i = 0; i < EVENTS; i++) {
    const caller = `svc-${i % CALLERS}`
    const line = JSON.stringify({
      v: 1,
      time: new Date(start + i * 1000).toISOString(),
      decision: i % 10 === 0 ? 'deny' : 'allow',
      reason: 'granted',
      caller,
      kind: 'api-key',
      credentialId: `key${i % CALLERS}`,
      scopes: [`orders:${i % 3 === 0 ? 'write' : 'read'}`],
      transport: 'http',
      method: 'GET',
      route: '/orders/:id',
      remoteAddress: '127.0.0.1',
      latencyMs: 0.05,
    })
    if (!out.write(`${line}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  const credentials: ReviewedCredential[] = Array.from({ length: CALLERS }, (_, n) => ({
    id: `key${n}`,
    kind: 'api-key',
    owner: `svc-${n}`,
    scopes: ['orders:read', 'orders:write', 'orders:admin'],
    createdAt: new Date(start),
    expiresAt: null,
    active: true,
  }))

  const rssBefore = process.memoryUsage().rss
  const t0 = performance.now()
  let lines = 0
  const stats = emptyStats()
  // baseline: streaming the same lines without parsing or reviewing them
  for await (const _ of (await import('node:readline')).createInterface({
    input: (await import('node:fs')).createReadStream(file),
  }))
    lines++
  const t1 = performance.now()
  const report = await reviewAccess(credentials, readAuditLog([file], stats), new Date(start + EVENTS * 1000))
  const t2 = performance.now()
  const rssAfter = process.memoryUsage().rss
  const size = statSync(file).size
  rmSync(dir, { recursive: true, force: true })

  const readSeconds = (t1 - t0) / 1000
  const reviewSeconds = (t2 - t1) / 1000
  return [
    '## callsign review',
    '',
    `${EVENTS.toLocaleString('en')} events (${(size / 1e6).toFixed(0)} MB, ${CALLERS} credentials), ${report.findings.length} findings.`,
    '',
    '| case | seconds | events/s | × baseline |',
    '|---|---:|---:|---:|',
    `| read lines only (baseline) | ${readSeconds.toFixed(2)} | ${Math.round(lines / readSeconds).toLocaleString('en')} | 1.00 |`,
    `| review (parse + summarize) | ${reviewSeconds.toFixed(2)} | ${Math.round(stats.events / reviewSeconds).toLocaleString('en')} | ${(reviewSeconds / readSeconds).toFixed(2)} |`,
    '',
    `RSS grew by ${((rssAfter - rssBefore) / 1e6).toFixed(0)} MB while reviewing a ${(size / 1e6).toFixed(0)} MB log: memory follows the number of credentials, not the size of the log.`,
  ].join('\n')
}
