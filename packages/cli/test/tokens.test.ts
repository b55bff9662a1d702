import { mkdtemp, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKeyDir } from '@callsign/jwt'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { ISS, inspectToken, mintToken } from './support/token-commands.js'

let dir: string
beforeAll(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'callsign-tokens-cli-')), 'keys')
  await createKeyDir(dir)
})

const mintFrom = (keys: string, ...extra: string[]) => mintToken(keys, '--scope', 'orders:write', ...extra)

const mint = (...extra: string[]) => mintFrom(dir, ...extra)

describe('callsign tokens', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('mints a token printed alone on stdout, which inspect accepts with exit 0 showing header and claims', async () => {
    const minted = await mint('--ttl', '5m')
    expect(minted.code).toBe(0)
    expect(minted.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/)
    const token = minted.stdout.trim()
    const inspected = await inspectToken(token, dir, 'orders')
    expect(inspected.code).toBe(0)
    expect(inspected.stdout).toContain('"alg": "ES256"')
    expect(inspected.stdout).toContain('"scope": "orders:read orders:write"')
    expect(inspected.stdout).toContain('accepted: caller billing')
  })

  it('exits 1 and says why for a token that would be refused (wrong_audience, lifetime_too_long)', async () => {
    const token = (await mint()).stdout.trim()
    const wrongAud = await inspectToken(token, dir, 'payments')
    expect(wrongAud.code).toBe(1)
    expect(wrongAud.stdout).toContain('refused: wrong_audience')
    // minted for a verifier that allows 1h, inspected with the default 15m
    const long = (await mint('--ttl', '1h', '--max-lifetime', '1h')).stdout.trim()
    const tooLong = await inspectToken(long, dir, 'orders')
    expect(tooLong.code).toBe(1)
    expect(tooLong.stdout).toContain('refused: lifetime_too_long')
  })

  it('inspects a token read from stdin against a JWKS URL on loopback', async () => {
    const jwks = await readFile(join(dir, 'jwks.json'), 'utf8')
    const server = createServer((_req, res) => res.end(jwks))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
      const token = (await mint()).stdout.trim()
      const result = await runCli(
        ['tokens', 'inspect', '-', '--jwks-uri', uri, '--iss', ISS, '--aud', 'orders'],
        {
          input: token,
        },
      )
      expect(result.code).toBe(0)
      expect(result.stdout).toContain('accepted: caller billing')
    } finally {
      server.close()
    }
  })

  it('prints help on stdout with exit 0 for tokens, mint and inspect; exits 2 on a missing option', async () => {
    for (const args of [['--help'], ['mint', '--help'], ['inspect', '--help']]) {
      const result = await runCli(['tokens', ...args])
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/^Usage: callsign tokens/)
    }
    const missing = await runCli(['tokens', 'inspect', 'a.b.c', '--iss', ISS, '--aud', 'orders'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--dir or --jwks-uri')
  })

  it('exits 1 for a --dir that is not a key directory, saying to run callsign jwks generate, for mint and inspect', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'callsign-tokens-cli-empty-'))
    const minted = await mintFrom(empty)
    const inspected = await inspectToken('a.b.c', empty, 'orders')
    for (const result of [minted, inspected]) {
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`${empty} is not a key directory`)
      expect(result.stderr).toContain('callsign jwks generate --dir <dir>')
    }
  })
})
