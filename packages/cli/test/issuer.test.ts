import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiKey, fileKeyStore } from '@callsign/api-key'
import { privateKeyJwt } from '@callsign/client'
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
    expect(result.stderr).toContain('create one with `callsign jwks generate --dir <dir>`')
  })
})

describe('callsign issuer add-client (private_key_jwt)', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("registers a public key, refuses a private one, and the served issuer accepts the client's assertion", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const privateFile = join(dir, 'reports.key.pem')
    const publicFile = join(dir, 'reports.pub.pem')
    await writeFile(privateFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
    await writeFile(publicFile, publicKey.export({ format: 'pem', type: 'spki' }))
    const clientsFile = join(dir, 'key-clients.json')
    const add = (...extra: string[]) =>
      runCli([
        'issuer',
        'add-client',
        '--clients',
        clientsFile,
        '--id',
        'reports',
        '--scope',
        'orders:read',
        ...extra,
      ])

    const refused = await add('--public-key', privateFile)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('holds a private key')

    const added = await add('--public-key', publicFile, '--kid', 'reports-1', '--audience', 'orders')
    expect(added.code).toBe(0)
    expect(added.stdout).toContain('registered reports (private_key_jwt, key reports-1)')
    const written = JSON.parse(await readFile(clientsFile, 'utf8'))
    expect(written.reports).toMatchObject({
      audiences: ['orders'],
      scopes: ['orders:read'],
      jwks: { keys: [{ kty: 'EC', kid: 'reports-1' }] },
    })
    expect(written.reports.jwks.keys[0]).not.toHaveProperty('d')
    expect((await add('--public-key', publicFile)).code).toBe(1) // exists: --replace needed

    const { child, url } = await serve([
      '--port',
      '0',
      '--keys',
      join(dir, 'keys'),
      '--clients',
      clientsFile,
      '--issuer',
      'https://issuer.test',
      '--audience',
      'orders',
    ])
    try {
      const metadata = (await (
        await fetch(`${url}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>
      expect(metadata.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt'])
      const signer = privateKeyJwt({ clientId: 'reports', keyFile: privateFile, kid: 'reports-1' })
      const res = await fetch(`${url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: signer.assertion('https://issuer.test/oauth2/token'),
        }),
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ scope: 'orders:read' })
    } finally {
      const done = exited(child)
      child.kill('SIGTERM')
      await done
    }
  })
})
