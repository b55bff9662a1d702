import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiKeyRecord, fileKeyStore } from '@callsign/api-key'
import type { AuditEvent } from '@callsign/core'
import { createDevCa, issueServiceCertificate } from '@callsign/mtls'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { keyRecord } from './support/key-record.js'

const NOW = '2026-06-30T00:00:00.000Z'
const daysAgo = (days: number) => new Date(Date.parse(NOW) - days * 86_400_000).toISOString()
const inDays = (days: number) => new Date(Date.parse(NOW) + days * 86_400_000).toISOString()

const record = (owner: string, scopes: string[], overrides: Partial<ApiKeyRecord> = {}) =>
  keyRecord(owner, scopes, { createdAt: daysAgo(10), expiresAt: inDays(80), ...overrides })

function allow(
  key: ApiKeyRecord,
  scopes: string[],
  time: string,
  kind: AuditEvent['kind'] = 'api-key',
): AuditEvent {
  return {
    v: 1,
    time,
    decision: 'allow',
    reason: 'granted',
    caller: key.owner,
    kind,
    credentialId: kind === 'api-key' ? key.id : 'jti-1',
    scopes,
    transport: 'http',
    method: 'GET',
    route: '/orders/:id',
    latencyMs: 0.2,
  }
}

const keys = {
  // every kind of finding, one key each, and one clean key
  clean: record('gateway', ['orders:read']),
  old: record('reporting', ['reports:read'], { createdAt: daysAgo(120), expiresAt: inDays(200) }),
  dormant: record('batch', ['orders:read'], { createdAt: daysAgo(30) }),
  neverUsed: record('legacy', ['orders:read'], { createdAt: daysAgo(75) }),
  // existed for the whole 90-day scope window (not yet older than the 90-day maximum age)
  broad: record('billing', ['orders:read', 'orders:write', 'orders:admin'], { createdAt: daysAgo(90) }),
  expiring: record('search', ['orders:read'], { expiresAt: inDays(5) }),
  forever: record('cron', ['orders:read'], { expiresAt: null }),
  revoked: record('gone', ['orders:admin'], {
    createdAt: daysAgo(400),
    state: 'revoked',
    revokedAt: daysAgo(300),
  }),
}

let dir: string
let store: string
let auditDir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callsign-review-'))
  store = join(dir, 'keys.json')
  const keyStore = fileKeyStore(store, { watch: false })
  for (const key of Object.values(keys)) await keyStore.create(key)
  auditDir = join(dir, 'audit')
  mkdirSync(auditDir)
  const events = [
    allow(keys.clean, ['orders:read'], daysAgo(1)),
    allow(keys.old, ['reports:read'], daysAgo(2)),
    allow(keys.dormant, ['orders:read'], daysAgo(61)),
    allow(keys.broad, ['orders:read'], daysAgo(3)),
    // billing also exercised orders:write through a token it got with this key: per-caller use counts
    allow(keys.broad, ['orders:write'], daysAgo(4), 'jwt'),
    allow(keys.expiring, ['orders:read'], daysAgo(1)),
    allow(keys.forever, ['orders:read'], daysAgo(1)),
  ]
  writeFileSync(
    join(auditDir, 'gateway.jsonl'),
    `${events
      .slice(0, 3)
      .map((e) => JSON.stringify(e))
      .join('\n')}\n`,
  )
  writeFileSync(
    join(auditDir, 'orders.jsonl'),
    `${events
      .slice(3)
      .map((e) => JSON.stringify(e))
      .join('\n')}\n{"truncated": \nnot json at all\n`,
  )
})

describe.concurrent('callsign review', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('finds each kind of stale, dormant, over-broad and expiring access, and exits 1', async () => {
    const result = await runCli(['review', '--store', store, '--audit', auditDir, '--now', NOW, '--json'])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as {
      findings: { type: string; credentialId: string; detail: string; recommendedScopes?: string[] }[]
      audit: { events: number; corrupt: number; files: number }
    }
    const found = report.findings.map((finding) => `${finding.type} ${finding.credentialId}`).sort()
    expect(found).toEqual(
      [
        `old-key ${keys.old.id}`,
        `unused ${keys.dormant.id}`,
        `unused ${keys.neverUsed.id}`,
        `unused-scopes ${keys.broad.id}`,
        `expiring ${keys.expiring.id}`,
        `no-expiry ${keys.forever.id}`,
      ].sort(),
    )
    const broad = report.findings.find((finding) => finding.type === 'unused-scopes')
    expect(broad?.recommendedScopes).toEqual(['orders:read', 'orders:write'])
    expect(report.findings.find((f) => f.credentialId === keys.neverUsed.id)?.detail).toBe(
      'never used since created 75 days ago',
    )
    expect(report.findings.find((f) => f.credentialId === keys.dormant.id)?.detail).toBe(
      'last used 61 days ago',
    )
    expect(report.audit).toMatchObject({ files: 2, events: 7, corrupt: 2 })
  })

  it('prints readable tables by default', async () => {
    const result = await runCli(['review', '--store', store, '--audit', auditDir, '--now', NOW])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('Keys to rotate (older than the maximum age): 1')
    expect(result.stdout).toContain('Grants to trim (scopes not used): 1')
    expect(result.stdout).toContain('narrow it to orders:read orders:write')
    expect(result.stdout).toContain('2 corrupt lines skipped')
    expect(result.stdout).toContain('6 findings.')
  })

  it('exits 0 when clean under wider thresholds', async () => {
    const cleanStore = join(dir, 'clean.json')
    await fileKeyStore(cleanStore, { watch: false }).create(keys.clean)
    const result = await runCli(['review', '--store', cleanStore, '--audit', auditDir, '--now', NOW])
    expect(result.stdout).toContain('No findings.')
    expect(result.code).toBe(0)
  })

  it('honours configurable thresholds', async () => {
    const result = await runCli([
      'review',
      '--store',
      store,
      '--audit',
      auditDir,
      '--now',
      NOW,
      '--json',
      '--max-key-age',
      '180d',
      '--unused',
      '90d',
      '--expiring',
      '3d',
    ])
    const types = (JSON.parse(result.stdout) as { findings: { type: string }[] }).findings.map((f) => f.type)
    expect(types).not.toContain('old-key')
    expect(types).not.toContain('unused')
    expect(types).not.toContain('expiring')
    expect(types).toContain('no-expiry')
  })

  it('exits 2 without --audit, or with a malformed threshold or time', async () => {
    expect((await runCli(['review', '--store', store])).code).toBe(2)
    expect((await runCli(['review', '--store', store, '--audit', auditDir, '--unused', 'sixty'])).code).toBe(
      2,
    )
    expect((await runCli(['review', '--store', store, '--audit', auditDir, '--now', 'yesterday'])).code).toBe(
      2,
    )
  })

  it('never prints a secret hash', async () => {
    const result = await runCli(['review', '--store', store, '--audit', auditDir, '--now', NOW, '--json'])
    for (const key of Object.values(keys)) expect(result.stdout).not.toContain(key.secretHash.slice(7, 30))
  })

  it('reports a certificate in the last third of its life (or the threshold, if shorter) as expiring', async () => {
    const certs = join(dir, 'certs')
    mkdirSync(join(certs, 'orders'), { recursive: true })
    const notBefore = new Date(Date.parse(NOW) - 86_400_000)
    const ca = createDevCa({ trustDomain: 'mesh.local', days: 365, notBefore })
    const leaf = (days: number) =>
      issueServiceCertificate({ ca, spiffeId: 'spiffe://mesh.local/ns/shop/sa/orders', days, notBefore })
    const weekly = leaf(7)
    writeFileSync(join(certs, 'orders', 'tls.crt'), weekly.cert)
    const expiring = async (now: string) => {
      const result = await runCli([
        'review',
        '--store',
        store,
        '--audit',
        auditDir,
        '--certs',
        certs,
        '--now',
        now,
        '--json',
      ])
      const report = JSON.parse(result.stdout) as { findings: { type: string; credentialId: string }[] }
      return report.findings.filter((f) => f.type === 'expiring' && f.credentialId === weekly.thumbprint)
        .length
    }
    // one day into a 7-day certificate: 6 days left, under 14 but not yet in its last third
    expect(await expiring(NOW)).toBe(0)
    // five days in: 2 days left, in its last third
    expect(await expiring(new Date(Date.parse(NOW) + 4 * 86_400_000).toISOString())).toBe(1)
  })
})
