import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import type { Command } from '../src/command.js'
import { allCommands, main } from '../src/main.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-registry-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs `callsign` in this process (for the sweep over every command; the rest spawn the real one). */
async function inProcess(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const out = new PassThrough().setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  const err = new PassThrough().setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const code = await main(argv, { stdout: out, stderr: err, env: {} })
  return { code, stdout, stderr }
}

/** Every runnable command with its path: `keys create`, `review`, … */
async function leaves(): Promise<{ path: string[]; command: Command }[]> {
  const found: { path: string[]; command: Command }[] = []
  const walk = (command: Command, path: string[]) => {
    if (command.subcommands) for (const sub of command.subcommands) walk(sub, [...path, sub.name])
    else found.push({ path, command })
  }
  for (const command of await allCommands()) walk(command, [command.name])
  return found
}

describe('one parser and one registry for every command', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('answers --help for every command and subcommand with its usage and every one of its options', async () => {
    const all = await leaves()
    expect(all.map(({ path }) => path.join(' '))).toEqual(
      expect.arrayContaining(['keys create', 'certs issue', 'jwks generate', 'tokens decode', 'review']),
    )
    for (const { path, command } of all) {
      const result = await inProcess([...path, '--help'])
      expect({ path, code: result.code }).toEqual({ path, code: 0 })
      expect(result.stdout.startsWith(`Usage: callsign ${path.join(' ')}`)).toBe(true)
      for (const name of Object.keys(command.options ?? {})) expect(result.stdout).toContain(`--${name}`)
      if (command.json) expect(result.stdout).toContain('--json')
    }
  })

  it('gives a subcommand its own help, not the group help (certs issue, policy explain, jwks generate)', async () => {
    const issue = await runCli(['certs', 'issue', '--help'])
    expect(issue.code).toBe(0)
    expect(issue.stdout).toMatch(/^Usage: callsign certs issue <service>/)
    expect(issue.stdout).toContain('--dns <name>')
    expect(issue.stdout).not.toContain('callsign certs init')
    const generate = await runCli(['jwks', 'generate', '--help'])
    expect(generate.stdout).toMatch(/--alg <alg>\s+the algorithm: ES256/)
  })

  it('`callsign help keys create` is `callsign keys create --help`; --version prints the version', async () => {
    const [viaHelp, viaFlag, version] = await Promise.all([
      runCli(['help', 'keys', 'create']),
      runCli(['keys', 'create', '--help']),
      runCli(['--version']),
    ])
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
    expect(viaHelp.stdout).toMatch(/^Usage: callsign keys create/)
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^callsign \d+\.\d+\.\d+\n$/)
  })

  it('refuses an option given twice, naming it and both values (exit 2), instead of keeping the last', async () => {
    const store = join(dir, 'twice.json')
    const result = await runCli([
      'keys',
      'create',
      '--owner',
      'billing',
      '--owner',
      'other',
      '--scope',
      'orders:read',
      '--store',
      store,
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--owner was given twice ("billing" and "other")')
    expect(result.stdout).toBe('')
  })

  it.each([
    [['keys', 'list', '--bogus'], 'unknown option --bogus'],
    [['certs', 'init', '--days', '0'], '--days must be a whole number of days from 1 to 3650, not "0"'],
    [['certs', 'init', '--days'], '--days needs a value'],
    [['policy', 'explain'], 'missing <policy file>'],
    [['keys', 'show', 'a', 'b'], 'unexpected argument "b"'],
  ])('exits 2 for %j naming the flag and value, never an internal function', async (args, message) => {
    const result = await runCli(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
    expect(result.stderr).not.toMatch(/\b[a-z]+[A-Z][A-Za-z]+: /) // mintToken:, createDevCa:, …
    expect(result.stderr).toContain('--help` for usage')
  })

  it('prints errors as JSON with --json: a usage error (2) and a failure (1), each with a schema', async () => {
    const usage = await runCli(['review', '--audit', dir, '--unused', 'sixty', '--json'])
    expect(usage.code).toBe(2)
    expect(JSON.parse(usage.stdout)).toEqual({
      schema: 'callsign.error/v1',
      error: {
        code: 'ERR_USAGE',
        message: '--unused must be a duration such as 90s, 15m, 1h or 30d, not "sixty"',
        exitCode: 2,
      },
    })
    const failure = await runCli(['keys', 'list', '--json', '--store', join(dir, 'none', 'keys.json')])
    expect(failure.code).toBe(1)
    const body = JSON.parse(failure.stdout)
    expect(body.schema).toBe('callsign.error/v1')
    expect(body.error.message).toContain('no key store there')
  })
})
