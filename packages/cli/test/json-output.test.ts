import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiKeyRecord, fileKeyStore } from '@callsign/api-key'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { keyRecord } from './support/key-record.js'
import { ISS, inspectToken, jsonOf, mintToken } from './support/token-commands.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'callsign-json-'))
})

const DAY = 86_400_000

const record = (owner: string, overrides: Partial<ApiKeyRecord>) =>
  keyRecord(owner, ['orders:read'], overrides)

describe('machine-readable output (item 9)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('keys list --json says the state the table shows: expired, rotated, rotated-out, revoked', async () => {
    const store = join(dir, 'states.json')
    const keys = fileKeyStore(store, { watch: false })
    const past = new Date(Date.now() - DAY).toISOString()
    const future = new Date(Date.now() + DAY).toISOString()
    const rows = {
      active: record('a', {}),
      expired: record('b', { expiresAt: past }),
      rotated: record('c', { graceUntil: future, lastRotatedAt: past }),
      'rotated-out': record('d', { graceUntil: past, lastRotatedAt: past }),
      revoked: record('e', { state: 'revoked', revokedAt: past }),
    }
    for (const row of Object.values(rows)) await keys.create(row)
    const result = await runCli(['keys', 'list', '--json', '--store', store])
    const body = jsonOf(result, 0) as { schema: string; keys: { id: string; state: string }[] }
    expect(body.schema).toBe('callsign.keys.list/v1')
    const states = Object.fromEntries(body.keys.map((key) => [key.id, key.state]))
    expect(states).toEqual(Object.fromEntries(Object.entries(rows).map(([state, row]) => [row.id, state])))
  })

  it('policy check and explain print versioned JSON with --json', async () => {
    const policy = join(dir, 'orders.policy.yaml')
    writeFileSync(policy, "routes:\n  'GET /orders/:id': [orders:read]\n")
    const check = await runCli(['policy', 'check', policy, '--json'])
    expect(jsonOf(check, 0)).toEqual({
      schema: 'callsign.policy.check/v1',
      file: policy,
      valid: true,
      entries: 1,
    })
    const explain = await runCli([
      'policy',
      'explain',
      policy,
      '--caller',
      'billing',
      '--scope',
      'orders:write',
      '--scope',
      'files:read',
      '--route',
      'GET /orders/1',
      '--json',
    ])
    expect(jsonOf(explain, 1)).toMatchObject({
      schema: 'callsign.policy.explain/v1',
      decision: 'deny',
      reason: 'ERR_INSUFFICIENT_SCOPE',
      held: ['orders:write', 'files:read'],
      missing: ['orders:read'],
    })
  })
})

describe('tokens and signing keys (items 9 and 11)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('jwks generate --json; tokens mint; tokens inspect --json; tokens decode marked UNVERIFIED', async () => {
    const keys = join(dir, 'jwks')
    const generated = await runCli(['jwks', 'generate', '--dir', keys, '--json'])
    expect(jsonOf(generated, 0)).toMatchObject({
      schema: 'callsign.jwks.generate/v1',
      current: { alg: 'ES256' },
    })
    const mint = await mintToken(keys)
    expect(mint.code).toBe(0)
    const token = mint.stdout.trim()
    expect(jsonOf(await inspectToken(token, keys, 'orders', '--json'), 0)).toMatchObject({
      schema: 'callsign.tokens.inspect/v1',
      accepted: true,
      caller: 'billing',
      scopes: ['orders:read'],
      claims: { iss: ISS, sub: 'billing' },
    })
    const decoded = await runCli(['tokens', 'decode', token])
    expect(decoded.code).toBe(0)
    expect(decoded.stdout).toMatch(/^UNVERIFIED: /)
    expect(decoded.stdout).toContain('"sub": "billing"')
  })

  it('refuses at mint time what verifiers refuse: --ttl over 15m, no --scope, an --iss that is not a URL', async () => {
    const base = ['tokens', 'mint', '--dir', join(dir, 'jwks'), '--sub', 'billing', '--aud', 'orders']
    const [long, noScope, notUrl] = await Promise.all([
      runCli([...base, '--iss', ISS, '--scope', 'orders:read', '--ttl', '24h']),
      runCli([...base, '--iss', ISS]),
      runCli([...base, '--iss', 'not-a-url', '--scope', 'orders:read']),
    ])
    expect(long.code).toBe(2)
    expect(long.stderr).toContain("--ttl 24h is longer than the verifier's maximum lifetime (900 s)")
    expect(noScope.code).toBe(2)
    expect(noScope.stderr).toContain('--scope is required')
    expect(notUrl.code).toBe(2)
    expect(notUrl.stderr).toContain('--iss must be a URL such as https://issuer.example, not "not-a-url"')
    for (const result of [long, noScope, notUrl]) expect(result.stdout).toBe('')
  })

  it("warns that ES384 is not in jwtVerifier's default algorithms; inspect --alg ES384 accepts its tokens", async () => {
    const keys = join(dir, 'jwks-es384')
    const generated = await runCli(['jwks', 'generate', '--dir', keys, '--alg', 'ES384'])
    expect(generated.code).toBe(0)
    expect(generated.stderr).toContain("warning: ES384 is not in jwtVerifier's default algorithms")
    const token = (await mintToken(keys)).stdout.trim()
    const [refused, accepted] = await Promise.all([
      inspectToken(token, keys, 'orders'),
      inspectToken(token, keys, 'orders', '--alg', 'ES384'),
    ])
    expect(refused.code).toBe(1)
    expect(refused.stdout).toContain('refused: alg_not_allowed')
    expect(accepted.code).toBe(0)
  })
})
