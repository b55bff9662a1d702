import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiKey, fileKeyStore } from '@callsign/api-key'
import { createKeyDir } from '@callsign/jwt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHILD_TIMEOUT_MS,
  CLI_TEST_TIMEOUT_MS,
  cliCommand,
  repoRoot,
  runCli,
} from '../../../test/support/run-cli.js'

let dir: string
let key: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-cli-issuer-'))
  await createKeyDir(join(dir, 'keys'))
  const store = fileKeyStore(join(dir, 'clients.json'), { watch: false })
  key = (await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })).key
  store.close()
})
afterAll(() => rm(dir, { recursive: true, force: true }))

/** Starts `callsign issuer serve` and resolves once it prints its listening line. */
function serve(args: readonly string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), 'issuer', 'serve', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no listening line: ${stderr}`))
    }, CHILD_TIMEOUT_MS)
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      const match = /listening on (\S+)/.exec(stderr)
      if (match) {
        clearTimeout(timer)
        resolve({ child, url: match[1]!, stderr: () => stderr })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited ${code}: ${stderr}`))
    })
  })
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', resolve))

describe('callsign issuer serve', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('serves tokens, writes the audit file, and exits 0 on SIGTERM', async () => {
    const audit = join(dir, 'audit.jsonl')
    const { child, url, stderr } = await serve([
      '--port',
      '0',
      '--keys',
      join(dir, 'keys'),
      '--store',
      join(dir, 'clients.json'),
      '--issuer',
      'https://issuer.test',
      '--audience',
      'orders',
      '--ttl',
      '2m',
      '--audit',
      audit,
    ])
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${key}` },
      body: 'grant_type=client_credentials',
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { expires_in: number; scope: string }
    expect(body).toMatchObject({ expires_in: 120, scope: 'orders:read' })

    const done = exited(child)
    child.kill('SIGTERM')
    expect(await done).toBe(0)
    expect(stderr()).toContain('stopped (SIGTERM)')
    const lines = (await readFile(audit, 'utf8')).trim().split('\n')
    expect(JSON.parse(lines[0]!)).toMatchObject({
      decision: 'allow',
      reason: 'token_issued',
      caller: 'billing',
    })
  })

  it('prints its help on stdout and exits 0 for serve --help', async () => {
    const result = await runCli(['issuer', 'serve', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Usage: callsign issuer serve/)
  })

  it('prints the subcommands for issuer --help and exits 0', async () => {
    const result = await runCli(['issuer', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('serve')
  })

  it('exits 2 naming --issuer when it is missing', async () => {
    const result = await runCli([
      'issuer',
      'serve',
      '--port',
      '0',
      '--keys',
      join(dir, 'keys'),
      '--store',
      'x.json',
      '--audience',
      'a',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--issuer is required')
  })

  it('exits 1 naming "keys" when the key directory does not exist', async () => {
    const result = await runCli([
      'issuer',
      'serve',
      '--port',
      '0',
      '--keys',
      join(dir, 'missing'),
      '--store',
      join(dir, 'clients.json'),
      '--issuer',
      'https://issuer.test',
      '--audience',
      'orders',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('"keys"')
  })
})
