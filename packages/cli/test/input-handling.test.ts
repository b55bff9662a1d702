import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiKeyRecord, generateApiKey } from '@callsign/api-key'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, cliCommand, repoRoot, runCli } from '../../../test/support/run-cli.js'
import { keyRecord } from './support/key-record.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'callsign-input-'))
})

const created = async (store: string, ...extra: string[]) => {
  const result = await runCli([
    'keys',
    'create',
    '--owner',
    'billing',
    '--scope',
    'orders:read',
    '--store',
    store,
    '--json',
    ...extra,
  ])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as ApiKeyRecord & { key: string }
}

describe('a path that does not exist is an error unless the command creates it (item 4)', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  it('keys list --store /nonexistent exits 1 naming the path, not an empty table', async () => {
    const result = await runCli(['keys', 'list', '--store', '/nonexistent/keys.json'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('--store /nonexistent/keys.json: no key store there')
  })

  it('issuer serve --store doesnotexist.json refuses to start', async () => {
    const result = await runCli(
      [
        'issuer',
        'serve',
        '--port',
        '0',
        '--keys',
        dir,
        '--issuer',
        'http://127.0.0.1',
        '--audience',
        'orders',
        '--store',
        join(dir, 'doesnotexist.json'),
      ],
      { timeoutMs: 30_000 },
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('doesnotexist.json: no key store there')
  })
})

describe('no silent surprises (item 5)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("keys rotate gives the new key the old one's lifetime, not 90 days", async () => {
    const store = join(dir, 'rotate.json')
    const old = await created(store, '--expires', '30d')
    const rotated = await runCli(['keys', 'rotate', old.id, '--json', '--store', store])
    expect(rotated.code).toBe(0)
    const next = JSON.parse(rotated.stdout) as ApiKeyRecord
    expect(Date.parse(next.expiresAt!) - Date.parse(next.createdAt)).toBe(30 * 86_400_000)
  })

  it('a second revoke says the key was already revoked and writes nothing', async () => {
    const store = join(dir, 'revoke.json')
    const { id } = await created(store)
    expect((await runCli(['keys', 'revoke', id, '--store', store])).stderr).toContain(`revoked key ${id}`)
    const before = readFileSync(store, 'utf8')
    const again = await runCli(['keys', 'revoke', id, '--store', store])
    expect(again.code).toBe(0)
    expect(again.stderr).toContain(`key ${id} (billing) was already revoked at`)
    expect(readFileSync(store, 'utf8')).toBe(before)
  })

  it('a read-only (chmod 444) store is refused, not silently rewritten as 0600', async () => {
    const store = join(dir, 'frozen.json')
    await created(store)
    chmodSync(store, 0o444)
    const result = await runCli(['keys', 'create', '--owner', 'x', '--scope', 'a:b', '--store', store])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`--store ${store} is read-only (mode 0444)`)
    expect(statSync(store).mode & 0o777).toBe(0o444)
  })

  it('certs issue refuses to replace a certificate of another SPIFFE ID without --force; renews the same one', async () => {
    const certs = join(dir, 'certs')
    expect((await runCli(['certs', 'init', '--dir', certs])).code).toBe(0)
    expect((await runCli(['certs', 'issue', 'billing', '--dir', certs])).code).toBe(0)
    const renewed = await runCli(['certs', 'issue', 'billing', '--dir', certs, '--dns', 'billing.internal'])
    expect(renewed.code).toBe(0)
    expect(renewed.stderr).toContain('DNS billing.internal; IP 127.0.0.1') // the SANs it got, in words
    const moved = await runCli(['certs', 'issue', 'billing', '--dir', certs, '--namespace', 'shop'])
    expect(moved.code).toBe(1)
    expect(moved.stderr).toContain(
      'is spiffe://mesh.local/ns/default/sa/billing, not spiffe://mesh.local/ns/shop/sa/billing; pass --force',
    )
    const forced = await runCli([
      'certs',
      'issue',
      'billing',
      '--dir',
      certs,
      '--namespace',
      'shop',
      '--force',
    ])
    expect(forced.code).toBe(0)
  })
})

describe('exit codes and messages (item 6)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('says a file exists in words, and zero durations are too short, not "not a duration"', async () => {
    const store = join(dir, 'words.json')
    const out = join(dir, 'billing.key')
    writeFileSync(out, 'already here\n')
    const exists = await runCli([
      'keys',
      'create',
      '--owner',
      'billing',
      '--scope',
      'orders:read',
      '--out',
      out,
      '--store',
      store,
    ])
    expect(exists.code).toBe(1)
    expect(exists.stderr).toBe(`callsign keys create: ${out}: already exists\n`)
    const zero = await runCli(['keys', 'rotate', 'AAAAAAAAAAAA', '--grace', '0s', '--store', store])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('--grace must be longer than zero, not "0s"')
  })

  it('refuses certs issue --days 91 as a usage error naming --days, not issueServiceCertificate', async () => {
    const result = await runCli(['certs', 'issue', 'billing', '--dir', join(dir, 'none'), '--days', '91'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--days must be a whole number of days from 1 to 90, not "91"')
    expect(result.stderr).not.toContain('issueServiceCertificate')
  })
})

describe('keys show never echoes a secret (item 7)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('reads the id out of a whole key, and never prints the key back, found or not', async () => {
    const store = join(dir, 'show.json')
    const { id, key } = await created(store)
    const shown = await runCli(['keys', 'show', key, '--store', store])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(`id:           ${id}`)
    const secret = key.slice(17)
    expect(shown.stdout + shown.stderr).not.toContain(secret)
    const other = generateApiKey().key
    const missing = await runCli(['keys', 'show', other, '--store', store])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`no key with id "${other.slice(4, 16)}"`)
    expect(missing.stderr).not.toContain(other.slice(17))
  })
})

describe('a reader that stops early (item 8)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('keys list | head -1 ends quietly: no EPIPE stack trace', async () => {
    const store = join(dir, 'big.json')
    const keys = Array.from({ length: 5000 }, (_, index) =>
      keyRecord(`svc-${index}`, ['orders:read'], { expiresAt: null }),
    )
    writeFileSync(store, JSON.stringify({ version: 1, keys }), { mode: 0o600 })
    const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), 'keys', 'list', '--store', store], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    // read the first chunk, then close the pipe as `head -1` does
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    child.stdout.destroy()
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(stderr).not.toContain('EPIPE')
    expect(code).toBe(0)
  })
})
