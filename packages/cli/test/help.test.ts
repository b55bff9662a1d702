import { describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'

describe('callsign', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('prints the command list for --help and exits 0', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Usage: callsign <command>/)
    expect(result.stdout).toContain('keys')
  })

  it('exits 2 with a usage message for an unknown command', async () => {
    const result = await runCli(['frobnicate'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown command "frobnicate"')
    expect(result.stdout).toBe('')
  })

  it('exits 2 when no command is given', async () => {
    const result = await runCli([])
    expect(result.code).toBe(2)
  })
})
