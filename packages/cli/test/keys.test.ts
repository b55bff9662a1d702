import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { apiKeyVerifier, fileKeyStore } from '@callsign/api-key'
import { AuthError } from '@callsign/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, cliCommand, repoRoot, runCli } from '../../../test/support/run-cli.js'
import { main } from '../src/main.js'

let dir: string
let store: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-keys-'))
  store = join(dir, 'keys.json')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const KEY = /^csk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/
const create = (...extra: string[]) =>
  runCli(['keys', 'create', '--owner', 'billing', '--scope', 'orders:read', '--store', store, ...extra])

describe('callsign keys', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.each([
    [['keys', '--help'], /Usage: callsign keys <subcommand>/],
    [['keys', 'create', '--help'], /Usage: callsign keys create/],
    [['keys', 'list', '--help'], /Usage: callsign keys list/],
    [['keys', 'show', '--help'], /Usage: callsign keys show/],
    [['keys', 'rotate', '--help'], /Usage: callsign keys rotate/],
    [['keys', 'revoke', '--help'], /Usage: callsign keys revoke/],
  ])('prints help for %j on stdout and exits 0', async (args, usage) => {
    const result = await runCli(args)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(usage)
  })

  it('create prints the plaintext key once, alone on stdout; the store holds only its hash', async () => {
    const result = await create()
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^csk_\S+\n$/)
    const key = result.stdout.trim()
    expect(key).toMatch(KEY)
    expect(result.stderr).toContain(`created key ${key.slice(4, 16)} for billing`)
    expect(result.stderr).not.toContain(key)
    const text = await readFile(store, 'utf8')
    expect(text).not.toContain(key.slice(17, 60))
    const caller = await apiKeyVerifier({ store: fileKeyStore(store, { watch: false }) }).verify({
      transport: 'http',
      method: 'GET',
      route: '/',
      header: (name) => (name === 'authorization' ? [`Bearer ${key}`] : []),
    })
    expect(caller).toMatchObject({ id: 'billing', credentialId: key.slice(4, 16) })
  })

  it('create --json prints one JSON object with id and key; --expires never stores no expiry', async () => {
    const result = await create('--json', '--expires', 'never', '--label', 'team=payments')
    expect(result.code).toBe(0)
    const body = JSON.parse(result.stdout)
    expect(body.key).toMatch(KEY)
    expect(body.id).toBe(body.key.slice(4, 16))
    expect(body).toMatchObject({
      owner: 'billing',
      scopes: ['orders:read'],
      expiresAt: null,
      labels: { team: 'payments' },
    })
    expect(body.secretHash).toBeUndefined()
  })

  it('create --out writes the key to a new file with mode 0600 and prints nothing on stdout', async () => {
    const out = join(dir, 'billing.key')
    const result = await create('--out', out, '--expires', '30d')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('')
    expect((await readFile(out, 'utf8')).trim()).toMatch(KEY)
    expect((await stat(out)).mode & 0o777).toBe(0o600)
    const again = await create('--out', out)
    expect(again.code).toBe(1)
    expect((await fileKeyStore(store, { watch: false }).list()).length).toBe(1)
  })

  it.each([
    [['--scope', 'bad scope!'], /malformed scope "bad scope!"/],
    [['--expires', 'soon'], /--expires/],
    [['--label', 'Team=x'], /--label/],
    [['--frobnicate'], /frobnicate/],
  ])('create exits 2 with a usage error for %j', async (extra, message) => {
    const result = await create(...extra)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stdout).toBe('')
  })

  it('create exits 2 without --owner or without --scope', async () => {
    expect((await runCli(['keys', 'create', '--scope', 'a:b', '--store', store])).code).toBe(2)
    expect((await runCli(['keys', 'create', '--owner', 'billing', '--store', store])).code).toBe(2)
  })

  it('list --json is { schema, keys } of records without any secret; show, rotate and revoke work by id', async () => {
    const key = (await create()).stdout.trim()
    const id = key.slice(4, 16)
    const rotated = await runCli(['keys', 'rotate', id, '--grace', '1h', '--json', '--store', store])
    expect(rotated.code).toBe(0)
    const next = JSON.parse(rotated.stdout)
    expect(next).toMatchObject({ owner: 'billing', scopes: ['orders:read'], rotatedFrom: id })
    expect(next.key).toMatch(KEY)

    const list = await runCli(['keys', 'list', '--json', '--store', store])
    expect(list.code).toBe(0)
    const { schema, keys: records } = JSON.parse(list.stdout)
    expect(schema).toBe('callsign.keys.list/v1')
    expect(records.map((r: { id: string }) => r.id).sort()).toEqual([id, next.id].sort())
    expect(list.stdout).not.toContain('secretHash')
    expect(list.stdout).not.toContain(key.slice(17, 60))
    const old = records.find((r: { id: string }) => r.id === id)
    expect(Date.parse(old.graceUntil) - Date.parse(old.lastRotatedAt)).toBe(3_600_000)

    const shown = await runCli(['keys', 'show', id, '--store', store])
    expect(shown.stdout).toContain(`rotated to:   ${next.id}`)
    const revoked = await runCli(['keys', 'revoke', next.id, '--store', store])
    expect(revoked.code).toBe(0)
    const table = await runCli(['keys', 'list', '--store', store])
    expect(table.stdout).toMatch(new RegExp(`${next.id}\\s+billing\\s+revoked`))
  })

  it('exits 1 for an unknown key id and 2 for a missing one', async () => {
    expect((await create()).code).toBe(0)
    const unknown = await runCli(['keys', 'revoke', 'AAAAAAAAAAAA', '--store', store])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no key with id "AAAAAAAAAAAA"')
    expect((await runCli(['keys', 'show', '--store', store])).code).toBe(2)
  })

  it('exits 1 with a clear message for a corrupt store', async () => {
    await create()
    await rm(store)
    await import('node:fs/promises').then((fs) => fs.writeFile(store, '{"version": 1, "keys": ['))
    const result = await runCli(['keys', 'list', '--store', store])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`key store ${store} is not valid JSON`)
  })

  it('takes the store from CALLSIGN_KEY_STORE, and defaults to .callsign/keys.json in the working folder', async () => {
    const fromEnv = await runCli(['keys', 'create', '--owner', 'a', '--scope', 'a:b'], {
      env: { CALLSIGN_KEY_STORE: store },
    })
    expect(fromEnv.code).toBe(0)
    expect(await fileKeyStore(store, { watch: false }).list()).toHaveLength(1)
    // Outside the repository `--import tsx` cannot resolve, so this one child loads tsx by its path.
    const [node, , , ...rest] = cliCommand
    const loader = join(repoRoot, 'node_modules/tsx/dist/loader.mjs')
    const child = spawnSync(
      node!,
      ['--import', loader, ...rest, 'keys', 'create', '--owner', 'b', '--scope', 'a:b'],
      {
        cwd: dir,
        env: { ...process.env, CALLSIGN_KEY_STORE: '' },
        encoding: 'utf8',
      },
    )
    expect(child.status).toBe(0)
    expect(await fileKeyStore(join(dir, '.callsign/keys.json'), { watch: false }).list()).toHaveLength(1)
  })

  it('loses no key when 20 `callsign keys create` processes start at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runCli(['keys', 'create', '--owner', `svc${i}`, '--scope', 'a:b', '--store', store], {
          timeoutMs: 60_000,
        }),
      ),
    )
    expect(results.map((result) => result.code)).toEqual(Array(20).fill(0))
    const ids = (await fileKeyStore(store, { watch: false }).list()).map((record) => record.id).sort()
    expect(ids).toEqual(results.map((result) => result.stdout.trim().slice(4, 16)).sort())
  }, 90_000)

  it('a running service refuses a key within a second of `callsign keys revoke`, without a restart', async () => {
    const key = (await create()).stdout.trim()
    const service = fileKeyStore(store)
    try {
      const verifier = apiKeyVerifier({ store: service })
      const req = {
        transport: 'http' as const,
        method: 'GET',
        route: '/',
        header: (name: string) => (name === 'authorization' ? [`Bearer ${key}`] : []),
      }
      expect(await verifier.verify(req)).not.toBeNull()
      expect((await runCli(['keys', 'revoke', key.slice(4, 16), '--store', store])).code).toBe(0)
      await vi.waitFor(
        async () => {
          const error = await (async () => verifier.verify(req))().catch((e: unknown) => e)
          expect(error).toBeInstanceOf(AuthError)
          expect((error as AuthError).reason).toBe('revoked')
        },
        { timeout: 3000 },
      )
    } finally {
      service.close()
    }
  })

  it('list prints a table of 130 000 keys (no stack overflow past 125 000), in process', async () => {
    const count = 130_000
    const later = new Date(Date.now() + 86_400_000).toISOString()
    const keys = Array.from({ length: count }, (_, i) => ({
      id: `Bulk${i.toString(36).padStart(8, '0')}`,
      owner: `svc-${i % 97}`,
      scopes: ['orders:read'],
      secretHash: `sha256:${'0'.repeat(64)}`,
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: later,
      state: 'active',
      labels: {},
    }))
    await writeFile(store, JSON.stringify({ version: 1, keys }), { mode: 0o600 })
    let out = ''
    let err = ''
    const stdout = new PassThrough().setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    const stderr = new PassThrough().setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
    const code = await main(['keys', 'list', '--store', store], { stdout, stderr, env: {} })
    expect({ code, err }).toEqual({ code: 0, err: '' })
    const lines = out.trimEnd().split('\n')
    expect(lines).toHaveLength(count + 1)
    expect(lines[0]).toMatch(/^ID\s+OWNER\s+STATUS\s+EXPIRES\s+SCOPES$/)
    expect(lines[count]).toMatch(/^Bulk\w{8}\s+svc-\d+\s+active\s+/)
  }, 60_000)
})
