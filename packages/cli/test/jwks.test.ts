import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'

const newDir = async () => join(await mkdtemp(join(tmpdir(), 'callsign-jwks-cli-')), 'keys')
const PRIVATE = /"(d|p|q|dp|dq|qi)"\s*:/

describe('callsign jwks', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('generates a key dir (private key mode 0600) and shows only the public set, exit 0', async () => {
    const dir = await newDir()
    const generated = await runCli(['jwks', 'generate', '--dir', dir, '--alg', 'ES256'])
    expect(generated.code).toBe(0)
    const kid = /signing key (\S+) \(ES256\)/.exec(generated.stderr)?.[1] as string
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await stat(join(dir, 'private', `${kid}.json`))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(dir, 'private', `${kid}.json`), 'utf8')).toMatch(PRIVATE)

    const shown = await runCli(['jwks', 'show', '--dir', dir])
    expect(shown.code).toBe(0)
    const jwks = JSON.parse(shown.stdout) as { keys: { kid: string }[] }
    expect(jwks.keys.map((key) => key.kid)).toEqual([kid])
    expect(shown.stdout).not.toMatch(PRIVATE)
  })

  it('rotates with --publish then --promote, publishing current and previous keys', async () => {
    const dir = await newDir()
    await runCli(['jwks', 'generate', '--dir', dir])
    const published = await runCli(['jwks', 'rotate', '--dir', dir, '--publish'])
    expect(published.code).toBe(0)
    const next = /next key \(published, not signing\): (\S+)/.exec(published.stderr)?.[1]
    expect(next).toBeDefined()
    const promoted = await runCli(['jwks', 'rotate', '--dir', dir, '--promote'])
    expect(promoted.code).toBe(0)
    expect(promoted.stderr).toContain(`signing key: ${next}`)
    expect(promoted.stdout).toBe('')
    const jwks = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8')) as { keys: { kid: string }[] }
    expect(jwks.keys).toHaveLength(2)
    expect(jwks.keys[0]?.kid).toBe(next)
  })

  it('prints help on stdout with exit 0 for jwks and each subcommand', async () => {
    for (const args of [['--help'], ['generate', '--help'], ['rotate', '--help'], ['show', '--help']]) {
      const result = await runCli(['jwks', ...args])
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/^Usage: callsign jwks/)
    }
  })

  it('exits 2 without --dir, for an unknown algorithm, and for an unknown subcommand', async () => {
    expect((await runCli(['jwks', 'generate'])).code).toBe(2)
    expect((await runCli(['jwks', 'generate', '--dir', await newDir(), '--alg', 'HS256'])).code).toBe(2)
    expect((await runCli(['jwks', 'frob'])).code).toBe(2)
  })

  it('exits 1 when rotating a directory that holds no keys', async () => {
    const result = await runCli(['jwks', 'rotate', '--dir', await newDir()])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('not a key directory')
    // @callsign/jwt names no command; the CLI says what to run
    expect(result.stderr).toContain('create one with `callsign jwks generate --dir <dir>`')
  })
})
