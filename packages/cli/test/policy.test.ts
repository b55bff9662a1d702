import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'

let dir: string
let policyFile: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'callsign-policy-cli-'))
  policyFile = join(dir, 'orders.policy.yaml')
  writeFileSync(
    policyFile,
    [
      'routes:',
      "  'GET /orders/:id': [orders:read]",
      "  'POST /orders': [orders:write]",
      "  'GET /files/*': [files:read]",
      "  'GET /healthz': public",
      "  '/shop.v1.Inventory/Reserve': [inventory:reserve]",
      'grants:',
      "  'spiffe://mesh.local/ns/prod/sa/billing': [orders:read]",
      "  'spiffe://mesh.local/ns/ops/*': [orders:write]",
      '',
    ].join('\n'),
  )
})

describe.concurrent('callsign policy check', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('accepts a valid policy file', async () => {
    const result = await runCli(['policy', 'check', policyFile])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('valid, 5 route entries')
  })

  it('rejects an invalid policy file with exit 1, naming the key', async () => {
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, "routes:\n  'GET /x': [orders:*]\n")
    const result = await runCli(['policy', 'check', bad])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('policy route "GET /x" has a malformed scope "orders:*"')
  })

  it('reports routes without entries (exit 1) and entries without routes', async () => {
    const dump = join(dir, 'routes.json')
    writeFileSync(
      dump,
      JSON.stringify(['GET /orders/:id', 'HEAD /orders/:id', 'DELETE /orders/:id', 'GET /healthz']),
    )
    const result = await runCli(['policy', 'check', policyFile, '--routes', dump])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^missing {2}DELETE \/orders\/:id/m)
    expect(result.stdout).toMatch(/^unused {3}POST \/orders/m)
    expect(result.stdout).toMatch(/^unused {3}\/shop\.v1\.Inventory\/Reserve/m)
    expect(result.stdout).not.toMatch(/missing {2}HEAD/)
  })

  it('exits 0 when every registered route has an entry', async () => {
    const dump = join(dir, 'routes-ok.json')
    writeFileSync(dump, JSON.stringify({ routes: ['GET /orders/:id', 'POST /orders'] }))
    const result = await runCli(['policy', 'check', policyFile, '--routes', dump])
    expect(result.code).toBe(0)
  })

  it.each([
    ['no policy file', () => ['policy', 'check']],
    ['an unknown option', () => ['policy', 'check', policyFile, '--bogus']],
    ['an unknown subcommand', () => ['policy', 'frobnicate']],
  ])('exits 2 on a usage error: %s', async (_case, args) => {
    expect((await runCli(args())).code).toBe(2)
  })
})

describe.concurrent('callsign policy explain', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.each([
    [
      ['--caller', 'gateway', '--scopes', 'orders:read', '--route', 'GET /orders/1'],
      0,
      /ALLOW {5}every required scope/,
    ],
    [
      ['--caller', 'gateway', '--scopes', 'orders:read', '--route', 'HEAD /orders/1'],
      0,
      /entry "GET \/orders\/:id"/,
    ],
    [
      ['--caller', 'gateway', '--scopes', 'orders:admin', '--route', 'GET /orders/1'],
      1,
      /missing orders:read/,
    ],
    [
      ['--caller', 'gateway', '--scopes', 'orders:read', '--route', 'POST /orders'],
      1,
      /missing orders:write/,
    ],
    [['--caller', 'gateway', '--route', 'DELETE /orders/1'], 1, /no policy entry matches/],
    [['--caller', 'gateway', '--route', 'GET /orders/1/items'], 1, /no policy entry matches/],
    [['--caller', 'gateway', '--route', 'GET /orders/'], 1, /no policy entry matches/],
    [
      ['--caller', 'gateway', '--scopes', 'files:read', '--route', 'GET /files/a/b'],
      0,
      /entry "GET \/files\/\*"/,
    ],
    [['--caller', 'anyone', '--route', 'GET /healthz'], 0, /public/],
    [
      ['--caller', 'spiffe://mesh.local/ns/prod/sa/billing', '--route', 'GET /orders/7'],
      0,
      /granted here orders:read/,
    ],
    [
      ['--caller', 'spiffe://mesh.local/ns/ops/sa/backfill', '--route', 'POST /orders'],
      0,
      /granted here orders:write[\s\S]*ALLOW/,
    ],
    [
      ['--caller', 'spiffe://mesh.local/ns/ops-admin/sa/x', '--route', 'POST /orders'],
      1,
      /missing orders:write/,
    ],
    [
      ['--caller', 'gateway', '--scopes', 'inventory:reserve', '--route', '/shop.v1.Inventory/Reserve'],
      0,
      /ALLOW/,
    ],
  ])('explains %j', async (args, code, pattern) => {
    const result = await runCli(['policy', 'explain', policyFile, ...args])
    expect(result.stdout).toMatch(pattern)
    expect(result.code).toBe(code)
  })

  it('exits 2 for a malformed scope or a missing --route', async () => {
    expect(
      (
        await runCli([
          'policy',
          'explain',
          policyFile,
          '--caller',
          'a',
          '--scopes',
          'bad scope!',
          '--route',
          'GET /x',
        ])
      ).code,
    ).toBe(2)
    expect((await runCli(['policy', 'explain', policyFile, '--caller', 'a'])).code).toBe(2)
  })
})
