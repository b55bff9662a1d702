import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileKeyStore } from '@callsign/api-key'
import type { AuditEvent } from '@callsign/core'
import { createDevCa, issueServiceCertificate } from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { keyRecord } from './support/key-record.js'

// An mTLS caller holds only what the services' policies grant it; a key's owner holds its key's
// scopes and what the policies grant it. With --policy, review weighs those grants (exact ids and
// "/*" patterns) against the audit trail, as it does a key's own scopes.
const NOW = '2026-06-30T00:00:00.000Z'
const DAY = 86_400_000
const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs).toISOString()
const BACKFILL = 'spiffe://mesh.local/ns/ops/sa/backfill'

let dir: string
let store: string
let audit: string
let certs: string
let policy: string
let thumbprint: string
let reportingKey: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callsign-review-policy-'))
  store = join(dir, 'keys.json')
  const keyStore = fileKeyStore(store, { watch: false })
  await keyStore.create(
    keyRecord('gateway', ['orders:read'], { createdAt: at(-DAY), expiresAt: at(60 * DAY) }),
  )
  // 100 days old, like the certificate: it has existed for the whole scope window
  const reporting = keyRecord('reporting', ['orders:read', 'orders:export'], {
    createdAt: at(-100 * DAY),
    expiresAt: at(60 * DAY),
  })
  reportingKey = reporting.id
  await keyStore.create(reporting)
  certs = join(dir, 'certs')
  mkdirSync(certs)
  const ca = createDevCa({ trustDomain: 'mesh.local', days: 730, notBefore: new Date(at(-200 * DAY)) })
  // 100 days old: it has existed for the whole 90-day scope window
  const leaf = issueServiceCertificate({
    ca,
    spiffeId: BACKFILL,
    notBefore: new Date(at(-100 * DAY)),
    notAfter: new Date(at(200 * DAY)),
  })
  thumbprint = leaf.thumbprint
  writeFileSync(join(certs, 'backfill.crt'), leaf.cert)
  policy = join(dir, 'orders.policy.yaml')
  writeFileSync(
    policy,
    [
      'routes:',
      "  'GET /orders/:id': [orders:read]",
      "  'POST /orders/:id/refund': [orders:refund]",
      'grants:',
      "  'spiffe://mesh.local/ns/ops/*': [orders:read, orders:refund]",
      '  reporting: [orders:refund, orders:audit]',
      '',
    ].join('\n'),
  )
  const used: AuditEvent = {
    v: 1,
    time: at(-5 * DAY),
    decision: 'allow',
    reason: 'granted',
    caller: BACKFILL,
    kind: 'mtls',
    credentialId: thumbprint,
    scopes: ['orders:read'],
    transport: 'http',
    method: 'GET',
    route: '/orders/:id',
    latencyMs: 0.1,
  }
  const reportingUsed: AuditEvent = {
    ...used,
    caller: 'reporting',
    kind: 'api-key',
    credentialId: reporting.id,
    scopes: ['orders:read', 'orders:audit'],
  }
  audit = join(dir, 'audit.jsonl')
  writeFileSync(audit, `${JSON.stringify(used)}\n${JSON.stringify(reportingUsed)}\n`)
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Finding {
  type: string
  kind: string
  owner: string
  action: string
  unusedScopes?: string[]
  recommendedScopes?: string[]
}

const review = async (...extra: string[]) => {
  const result = await runCli([
    'review',
    '--store',
    store,
    '--audit',
    audit,
    '--now',
    NOW,
    '--json',
    ...extra,
  ])
  const findings: Finding[] = result.code === 2 ? [] : JSON.parse(result.stdout).findings
  return {
    ...result,
    certificateFindings: findings.filter((finding) => finding.kind === 'mtls'),
    scopeFindingsOfKeys: findings.filter(
      (finding) => finding.kind === 'api-key' && finding.type === 'unused-scopes',
    ),
  }
}

describe('callsign review --policy', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("reports a certificate's over-broad pattern grant: the scope its identity never used", async () => {
    const result = await review('--certs', certs, '--policy', policy)
    expect(result.code).toBe(1)
    expect(result.certificateFindings).toEqual([
      expect.objectContaining({
        type: 'unused-scopes',
        owner: BACKFILL,
        unusedScopes: ['orders:refund'],
        recommendedScopes: ['orders:read'],
        action: 'narrow its policy grants to orders:read',
      }),
    ])
  })

  it('sees no grant without the policy: a certificate carries no scopes of its own', async () => {
    const result = await review('--certs', certs)
    expect(result.certificateFindings).toEqual([])
  })

  it("weighs what the policies grant a key's owner with the key's own scopes, and says which to narrow where", async () => {
    const result = await review('--policy', policy)
    expect(result.code).toBe(1)
    expect(result.scopeFindingsOfKeys).toEqual([
      expect.objectContaining({
        owner: 'reporting',
        credentialId: reportingKey,
        unusedScopes: ['orders:export', 'orders:refund'],
        recommendedScopes: ['orders:audit', 'orders:read'],
        action: "narrow it to orders:read; remove orders:refund from its owner's policy grants",
      }),
    ])
    // without the policy, only the key's own unused scope
    expect((await review()).scopeFindingsOfKeys).toEqual([
      expect.objectContaining({
        owner: 'reporting',
        unusedScopes: ['orders:export'],
        action: 'narrow it to orders:read',
      }),
    ])
  })

  it('exits 2 for a policy file that does not load', async () => {
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, "routes: {}\ngrants:\n  'spiffe://mesh.local/*/sa/x': [orders:read]\n")
    const invalid = await review('--certs', certs, '--policy', bad)
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain(bad)
  })
})
