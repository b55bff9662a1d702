import { describe, expect, it } from 'vitest'
import { reloadReport } from '../src/adapter.js'
import { ConfigError, type Logger } from '../src/index.js'

// The reporting half of reloadableFile, as a part whose loads are its own (the file key store) uses
// it: told of each reload, it keeps loadedAt and the last failure for health() and reports each
// failure once. The metrics it feeds are read through the SDK in test/health/reload-health.test.ts.

/** A logger hook that keeps what it is given. */
function recordingLogger(): Logger & { readonly warnings: unknown[][] } {
  const warnings: unknown[][] = []
  return { warnings, warn: (...args: unknown[]) => warnings.push(args) }
}

function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

const warning = { code: 'CALLSIGN_TEST_RELOAD', keeping: 'the last good keys' }

describe('reloadReport', () => {
  it('is ok from when it is taken; a failure is one warning and degraded health until a good reload', () => {
    const clock = manualClock()
    const logger = recordingLogger()
    const report = reloadReport({ warning, logger, errorCode: 'invalid_store_file', clock })
    expect(report.health()).toEqual({
      status: 'ok',
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastReloadError: null,
    })

    clock.advance(60_000)
    expect(report.failed(new ConfigError('key store /etc/keys.json is not JSON'))).toBe(false)
    expect(logger.warnings).toEqual([
      [{ code: 'CALLSIGN_TEST_RELOAD' }, 'key store /etc/keys.json is not JSON; keeping the last good keys'],
    ])
    expect(report.health()).toEqual({
      status: 'degraded',
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastReloadError: { at: '2026-01-01T00:01:00.000Z', error: 'invalid_store_file' },
    })

    clock.advance(60_000)
    report.succeeded()
    expect(report.health()).toEqual({
      status: 'ok',
      loadedAt: '2026-01-01T00:02:00.000Z',
      lastReloadError: null,
    })
    expect(logger.warnings).toHaveLength(1)
  })

  it('tells onError instead of warning, with invalid_file as the default error code', () => {
    const errors: ConfigError[] = []
    const logger = recordingLogger()
    const report = reloadReport({ onError: (error) => errors.push(error), warning, logger })
    const error = new ConfigError('bad file')
    report.failed(error)
    expect(errors).toEqual([error])
    expect(logger.warnings).toEqual([])
    expect(report.health().lastReloadError).toMatchObject({ error: 'invalid_file' })
  })

  it('throws on an error that is not a ConfigError (a bug is not a bad file), reporting nothing', () => {
    const report = reloadReport({ onError: () => expect.unreachable('a bug is not reported as a bad file') })
    const bug = new TypeError('a bug')
    expect(() => report.failed(bug)).toThrow(bug)
    expect(report.health().status).toBe('ok')
  })
})
