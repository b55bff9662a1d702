import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveAdapterOptions } from '../src/adapter.js'
import { ConfigError, createPipeline, definePolicy, type Logger, watchPolicyFile } from '../src/index.js'

/** A pino-like logger that keeps what it is told. */
function recordingLogger() {
  const lines: unknown[][] = []
  const logger: Logger = { warn: (...args: unknown[]) => lines.push(args) }
  return { logger, lines }
}

/** Process warnings emitted until the next turn of the event loop. */
const processWarnings: Error[] = []
const onWarning = (warning: Error) => processWarnings.push(warning)
process.on('warning', onWarning)
afterEach(() => {
  processWarnings.length = 0
})
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

const policy = definePolicy({ routes: { 'GET /a': 'public' } })
const verifiers = [{ kind: 'api-key' as const, verify: () => null }]

describe('the logger option', () => {
  it('sends the dry-run warning to logger.warn({ code }, message) instead of a process warning', async () => {
    const { logger, lines } = recordingLogger()
    createPipeline({ policy, verifiers, dryRun: true, logger })
    await nextTurn()
    expect(lines).toEqual([[{ code: 'CALLSIGN_DRY_RUN' }, expect.stringContaining('DRY-RUN')]])
    expect(processWarnings).toEqual([])
  })

  it('keeps process warnings as the default', async () => {
    createPipeline({ policy, verifiers, dryRun: true })
    await nextTurn()
    expect(processWarnings.map((warning) => (warning as Error & { code: string }).code)).toEqual([
      'CALLSIGN_DRY_RUN',
    ])
  })

  it('sends the coverage report of an adapter to the pipeline options logger', () => {
    const { logger, lines } = recordingLogger()
    const resolved = resolveAdapterOptions({ policy, verifiers, logger, reportOnly: true }, 'test')
    resolved.onReport({ missing: ['GET /b'], unused: [] })
    expect(lines).toEqual([[{ code: 'CALLSIGN_COVERAGE' }, 'test: routes without a policy entry: GET /b']])
  })

  it('sends a failed policy reload to the watcher logger', () => {
    const { logger, lines } = recordingLogger()
    const file = join(mkdtempSync(join(tmpdir(), 'callsign-logger-')), 'policy.json')
    writeFileSync(file, JSON.stringify({ routes: { 'GET /a': 'public' } }))
    const watcher = watchPolicyFile(file, { logger })
    writeFileSync(file, '{ broken')
    expect(watcher.reload()).toBe(false)
    expect(lines).toEqual([
      [{ code: 'CALLSIGN_POLICY_RELOAD' }, expect.stringContaining('keeping the last good policy')],
    ])
    watcher.close()
  })

  it('refuses a logger without warn() at startup', () => {
    expect(() => createPipeline({ policy, verifiers, logger: {} as Logger })).toThrow(ConfigError)
    expect(() => createPipeline({ policy, verifiers, logger: console })).not.toThrow()
  })
})
