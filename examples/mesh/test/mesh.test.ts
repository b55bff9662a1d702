import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DATABASE_URL,
  dropSchema,
  postgresReachable,
  testSchema,
} from '../../../packages/store-postgres/test/support/postgres.js'
import { nodeArgs } from '../src/lib/callsign.js'
import { secretFiles } from '../src/provision.js'

const demo = fileURLToPath(new URL('../src/demo.ts', import.meta.url))

interface Step {
  section: string
  call: string
  expected: string
  got: string
  pass: boolean
}

let run: { code: number | null; stdout: string }
let report: {
  failures: number
  steps: Step[]
  review: { code: number }
  /** Each service's refusals by reason, as the tour scraped them from its Prometheus endpoint. */
  refusals: Record<string, Record<string, number>> | null
}
let state: string

// With PostgreSQL reachable (always in CI), the tour also runs its PostgreSQL step: two gateway
// replicas on one key store, in a schema of this run's own.
const schema = testSchema('mesh')
const database = (await postgresReachable('the mesh tour, PostgreSQL step'))
  ? `${DATABASE_URL}?schema=${schema}`
  : undefined
afterAll(async () => {
  if (database) await dropSchema(schema)
})

// The whole tour, in process mode on loopback, in fresh state and certificate folders.
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'callsign-mesh-'))
  state = join(root, 'state')
  const reportFile = join(root, 'report.json')
  run = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, demo], {
      env: {
        ...process.env,
        MESH_STATE: state,
        MESH_CERTS: join(root, 'certs'),
        MESH_REPORT: reportFile,
        ...(database ? { MESH_DATABASE_URL: database } : {}),
        CI: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.resume()
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout })
    })
  })
  report = JSON.parse(readFileSync(reportFile, 'utf8'))
}, 180_000)

const step = (call: RegExp) => {
  const found = report.steps.find((candidate) => call.test(candidate.call))
  if (!found) throw new Error(`no step ${call}`)
  return found
}

describe('the example mesh, end to end', () => {
  it('plays the whole tour and exits 0', () => {
    expect(report.failures).toBe(0)
    expect(report.steps.every((s) => s.pass)).toBe(true)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Every step behaved as expected.')
  })

  it('shows each service the identity of its caller', () => {
    expect(step(/storefront → gateway GET/).got).toBe('200')
    const order = step(/storefront → gateway POST/)
    expect(order.got).toBe('201')
    expect(run.stdout).toContain('billing: spiffe://mesh.local/ns/shop/sa/orders (mtls)')
    expect(run.stdout).toContain(
      'gateway: storefront (api-key) · orders: gateway (jwt) · inventory: orders (jwt)',
    )
    expect(step(/warehouse → inventory/).got).toBe('OK')
  })

  it('refuses a missing scope with 403', () => {
    expect(step(/analytics \(no shop:order\)/).got).toBe('403 ERR_INSUFFICIENT_SCOPE')
  })

  it('refuses the intruder everywhere, with the right code for each credential it holds', () => {
    const attempts = report.steps.filter((s) => s.call.startsWith('intruder ('))
    expect(attempts).toHaveLength(8)
    expect(attempts.map((a) => a.got)).toEqual([
      '401 ERR_NO_CREDENTIAL',
      '401 ERR_NO_CREDENTIAL',
      '401 ERR_NO_CREDENTIAL',
      'UNAUTHENTICATED ERR_NO_CREDENTIAL',
      '401 ERR_INVALID_CREDENTIAL',
      '403 ERR_INSUFFICIENT_SCOPE',
      '401 ERR_NO_CREDENTIAL',
      'PERMISSION_DENIED ERR_INSUFFICIENT_SCOPE',
    ])
  })

  it('refuses a revoked key and a revoked certificate, renews an expired token and serves a rotated certificate without a restart', () => {
    expect(step(/partner \(revoked key\)/).got).toBe('401 ERR_INVALID_CREDENTIAL')
    expect(step(/billing serves a new certificate/).got).toBe('new')
    expect(step(/orders \(revoked certificate\)/)).toMatchObject({
      got: '502 (billing: 401 revoked)',
      pass: true,
    })
    expect(step(/orders re-issued/).got).toBe('201')
    expect(report.steps.find((s) => s.section.startsWith('3. Tokens'))?.pass).toBe(true)
  })

  it('writes no secret to any log or audit file', () => {
    const secrets = secretFiles(join(state, 'secrets')).map((name) =>
      readFileSync(join(state, 'secrets', name), 'utf8').trim(),
    )
    expect(secrets.length).toBeGreaterThanOrEqual(6)
    const files = ['logs', 'audit'].flatMap((dir) =>
      readdirSync(join(state, dir)).map((name) => join(state, dir, name)),
    )
    expect(files.length).toBeGreaterThanOrEqual(9)
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const secret of secrets)
        expect(text.includes(secret.slice(-30)), `${file} leaks a secret`).toBe(false)
    }
    // the audit trail has every decision, as JSON lines
    const audit = readFileSync(join(state, 'audit', 'gateway.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(audit.some((e) => e.decision === 'deny' && e.code === 'ERR_INSUFFICIENT_SCOPE')).toBe(true)
    expect(audit.some((e) => e.decision === 'allow' && e.caller === 'storefront')).toBe(true)
  })

  it.runIf(database)('runs two gateway replicas on PostgreSQL, and both refuse a key revoked there', () => {
    const replicas = report.steps.filter((s) => s.section.startsWith('10. '))
    expect(replicas.map((s) => [s.call, s.got, s.pass])).toEqual([
      ['partner → gateway replica 1 GET /shop/orders/7', '200', true],
      ['partner → gateway replica 2 GET /shop/orders/7', '200', true],
      ['partner (revoked key) → gateway replica 1 GET /shop/orders/7', '401 ERR_INVALID_CREDENTIAL', true],
      ['partner (revoked key) → gateway replica 2 GET /shop/orders/7', '401 ERR_INVALID_CREDENTIAL', true],
    ])
  })

  it("counts every refusal in each service's Prometheus metrics, by reason, and prints them", () => {
    // gateway: the intruder without a credential (step 4); analytics' and the stolen key's missing
    // scope (steps 2, 4); the revoked partner key (step 5). Step 10's replicas serve no metrics.
    expect(report.refusals?.gateway).toEqual({ no_credential: 1, scope_missing: 2, revoked: 1 })
    // the others: exactly the refusals in their own audit trails
    for (const service of ['orders', 'billing', 'inventory']) {
      const denied: Record<string, number> = {}
      for (const line of readFileSync(join(state, 'audit', `${service}.jsonl`), 'utf8')
        .trim()
        .split('\n')) {
        const event = JSON.parse(line) as { decision: string; reason: string }
        if (event.decision === 'deny') denied[event.reason] = (denied[event.reason] ?? 0) + 1
      }
      expect(report.refusals?.[service], service).toEqual(denied)
    }
    expect(report.refusals?.billing?.revoked).toBeGreaterThanOrEqual(1) // step 7
    expect(run.stdout).toContain("== Refusals by reason, as each service's Prometheus metrics count them")
    expect(run.stdout).toMatch(/^scope_missing +3 +inventory 1 · gateway 2$/m)
    expect(step(/services' metrics searched for \d+ secrets/).got).toBe('none found')
  })

  it('ends with callsign review, which finds the unused reports:read grant', () => {
    expect(report.review.code).toBe(1)
    expect(run.stdout).toContain('narrow it to shop:read')
  })

  it('leaves no service running', () => {
    const ours = readdirSync('/proc')
      .filter((pid) => /^\d+$/.test(pid))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`MESH_STATE=${state}`)
        } catch {
          return false
        }
      })
    expect(ours).toEqual([])
  })
})
