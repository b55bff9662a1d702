import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiKeyRecord, fileKeyStore } from '@callsign/api-key'
import type { AuditEvent } from '@callsign/core'
import { createDevCa, issueServiceCertificate } from '@callsign/mtls'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { keyRecord } from './support/key-record.js'

// A fixture of keys, audit events and certificates of different ages, reviewed at NOW with the
// default thresholds (rotate past 90 days, unused 60 days, scope window 90 days, expiring 14 days).
// Each expected finding below is worked out by hand from the ages in its comment.
const NOW = '2026-06-30T00:00:00.000Z'
const HOUR = 3_600_000
const DAY = 24 * HOUR
const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs).toISOString()

const key = (owner: string, scopes: string[], createdAgoMs: number, expiresInMs: number) =>
  keyRecord(owner, scopes, { createdAt: at(-createdAgoMs), expiresAt: at(expiresInMs) })

const keys = {
  // 12 hours old, one of two scopes used: too young for the 90-day scope window, no finding
  fresh: key('fresh', ['orders:read', 'orders:write'], 12 * HOUR, 90 * DAY),
  // 45 days old, one of two scopes used: still too young for the window
  young: key('young', ['reports:read', 'reports:write'], 45 * DAY, 45 * DAY),
  // 100 days old: older than 90 (rotate), and a:write unused through the whole window (trim)
  settled: key('settled', ['a:read', 'a:write'], 100 * DAY, 60 * DAY),
  // 80 days old, last used 70 days ago: unused for more than 60 days
  dormant: key('dormant', ['b:read'], 80 * DAY, 30 * DAY),
  // 61 days old, never used: unused since it was created
  neverOld: key('never-old', ['c:read'], 61 * DAY, 30 * DAY),
  // 59 days old, never used: within the 60-day allowance, no finding
  neverYoung: key('never-young', ['c:read'], 59 * DAY, 30 * DAY),
  // expires in 36 hours: "in 1 day"
  soon: key('soon', ['d:read'], 20 * DAY, 36 * HOUR),
  // 70 days old, used only the day after NOW: as of NOW, never used
  later: key('later', ['e:read'], 70 * DAY, 30 * DAY),
}

function allow(record: ApiKeyRecord, scopes: string[], offsetMs: number): AuditEvent {
  return {
    v: 1,
    time: at(offsetMs),
    decision: 'allow',
    reason: 'granted',
    caller: record.owner,
    kind: 'api-key',
    credentialId: record.id,
    scopes,
    transport: 'http',
    method: 'GET',
    route: '/x',
    latencyMs: 0.1,
  }
}

let dir: string
let store: string
let audit: string
let certs: string
const thumbprints: Record<string, string> = {}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callsign-review-windows-'))
  store = join(dir, 'keys.json')
  const keyStore = fileKeyStore(store, { watch: false })
  for (const record of Object.values(keys)) await keyStore.create(record)
  audit = join(dir, 'audit.jsonl')
  const events = [
    allow(keys.fresh, ['orders:read'], -HOUR),
    allow(keys.young, ['reports:read'], -2 * DAY),
    allow(keys.settled, ['a:read'], -5 * DAY),
    allow(keys.dormant, ['b:read'], -70 * DAY),
    allow(keys.soon, ['d:read'], -DAY),
    allow(keys.later, ['e:read'], DAY),
  ]
  writeFileSync(audit, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`)

  certs = join(dir, 'certs')
  const ca = createDevCa({ trustDomain: 'mesh.local', days: 365, notBefore: new Date(at(-30 * DAY)) })
  const leaf = (service: string, fromMs: number, toMs: number) => {
    mkdirSync(join(certs, service), { recursive: true })
    const issued = issueServiceCertificate({
      ca,
      spiffeId: `spiffe://mesh.local/ns/shop/sa/${service}`,
      notBefore: new Date(at(fromMs)),
      notAfter: new Date(at(toMs)),
    })
    writeFileSync(join(certs, service, 'tls.crt'), issued.cert)
    thumbprints[service] = issued.thumbprint
  }
  leaf('expired', -8 * DAY, -DAY) // expired a day before NOW: reported, not skipped
  leaf('renewing', -28 * DAY, 2 * DAY) // 30-day certificate, 2 days left: in its last third
  leaf('fine', -DAY, 29 * DAY) // 29 days left of 30: nothing
})

interface Report {
  schema: string
  findings: { type: string; credentialId: string; detail: string; action: string }[]
}

describe('callsign review: findings against hand-computed expectations', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  it('reports exactly the findings worked out by hand, with wording that says which window', async () => {
    const result = await runCli([
      'review',
      '--store',
      store,
      '--audit',
      audit,
      '--certs',
      certs,
      '--now',
      NOW,
      '--json',
    ])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as Report
    const found = report.findings
      .map(({ type, credentialId, detail, action }) => ({ type, credentialId, detail, action }))
      .sort((a, b) => `${a.credentialId}${a.type}`.localeCompare(`${b.credentialId}${b.type}`))
    const expected = [
      { type: 'old-key', credentialId: keys.settled.id, detail: 'created 100 days ago', action: 'rotate it' },
      {
        type: 'unused-scopes',
        credentialId: keys.settled.id,
        detail: 'a:write not used by settled in the last 90 days (created 100 days ago)',
        action: 'narrow it to a:read',
      },
      {
        type: 'unused',
        credentialId: keys.dormant.id,
        detail: 'last used 70 days ago',
        action: 'disable it',
      },
      {
        type: 'unused',
        credentialId: keys.neverOld.id,
        detail: 'never used since created 61 days ago',
        action: 'disable it',
      },
      {
        type: 'expiring',
        credentialId: keys.soon.id,
        detail: `expires in 1 day (${keys.soon.expiresAt})`,
        action: 'rotate it',
      },
      {
        type: 'unused',
        credentialId: keys.later.id,
        detail: 'never used since created 70 days ago',
        action: 'disable it',
      },
      {
        type: 'expired',
        credentialId: thumbprints.expired!,
        detail: `expired 1 day ago (${at(-DAY)})`,
        action: 'renew it',
      },
      {
        type: 'expiring',
        credentialId: thumbprints.renewing!,
        detail: `expires in 2 days (${at(2 * DAY)})`,
        action: 'renew it',
      },
    ].sort((a, b) => `${a.credentialId}${a.type}`.localeCompare(`${b.credentialId}${b.type}`))
    expect(found).toEqual(expected)
    expect(report.schema).toBe('callsign.review/v1')
  })

  it('says "1 credential" and "1 finding", not "1 credentials" or "finding(s)"', async () => {
    const one = join(dir, 'one.json')
    await fileKeyStore(one, { watch: false }).create(keys.soon)
    const result = await runCli(['review', '--store', one, '--audit', audit, '--now', NOW])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(': 1 credential, 6 audit events in 1 file')
    expect(result.stdout).toContain('expires in 1 day (')
    expect(result.stdout).toMatch(/\n1 finding\.\n$/)
  })
})

describe('callsign review: a gate never passes on missing or unreadable input', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  it('exits 2, not "No findings", when --store does not exist', async () => {
    const result = await runCli(['review', '--store', join(dir, 'nope.json'), '--audit', audit, '--now', NOW])
    expect(result.code).toBe(2)
    expect(result.stdout).not.toContain('No findings')
    expect(result.stderr).toContain(`--store ${join(dir, 'nope.json')}: no key store there`)
  })

  it('exits 2 when every line of an --audit file is corrupt, or the path does not exist', async () => {
    const corrupt = join(dir, 'corrupt.json')
    writeFileSync(corrupt, `${'{"not": "an audit event"}\n'.repeat(11)}not json\n`)
    const bad = await runCli(['review', '--store', store, '--audit', corrupt, '--now', NOW])
    expect(bad.code).toBe(2)
    expect(bad.stdout).not.toContain('No findings')
    expect(bad.stderr).toContain(`--audit ${corrupt}: none of its 12 lines is an audit event`)
    const missing = await runCli(['review', '--store', store, '--audit', join(dir, 'nope.jsonl'), '--json'])
    expect(missing.code).toBe(2)
    expect(JSON.parse(missing.stdout).error.message).toBe(
      `--audit ${join(dir, 'nope.jsonl')}: cannot read it (${join(dir, 'nope.jsonl')}: does not exist)`,
    )
  })

  it('exits 2 when --certs names a folder without a certificate', async () => {
    const empty = join(dir, 'empty-certs')
    mkdirSync(empty)
    const result = await runCli([
      'review',
      '--store',
      store,
      '--audit',
      audit,
      '--certs',
      empty,
      '--now',
      NOW,
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`--certs ${empty}: no certificate (*.crt, *.pem) under it`)
  })
})
