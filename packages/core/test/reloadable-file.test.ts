import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openReloadableFile, reloadableFile, reloadReport } from '../src/adapter.js'
import { ConfigError, type Logger } from '../src/index.js'

const quick = { debounceMs: 10, pollMs: 20 }
const open: { close(): void }[] = []
afterEach(() => {
  for (const file of open.splice(0)) file.close()
})

/** A file holding one whole number; anything else is a ConfigError, as a real loader's bad file. */
function numberFile(text = '1'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'callsign-reloadable-')), 'value.txt')
  writeFileSync(path, text)
  return path
}
function parse(path: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`${path} holds no number`)
  return Number(text)
}
const loadNumber = (path: string) => () => parse(path, readFileSync(path, 'utf8'))

/** A logger hook that keeps what it is given. */
function recordingLogger(): Logger & { readonly warnings: unknown[][] } {
  const warnings: unknown[][] = []
  return { warnings, warn: (...args: unknown[]) => warnings.push(args) }
}

function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const warning = { code: 'CALLSIGN_TEST_RELOAD', keeping: 'the last good number' }

describe('reloadableFile', () => {
  it('throws the ConfigError of a bad file at startup', () => {
    const path = numberFile('not a number')
    expect(() => reloadableFile({ paths: [path], load: loadNumber(path), warning })).toThrow(
      `${path} holds no number`,
    )
  })

  it('follows a changed file; a bad change keeps the last good value with one warning and degraded health, until a good one', async () => {
    const path = numberFile('1')
    const logger = recordingLogger()
    const clock = manualClock()
    const reloads: [number, number][] = []
    const file = reloadableFile({
      paths: [path],
      load: loadNumber(path),
      watch: quick,
      onReload: (value, previous) => reloads.push([value, previous]),
      warning,
      logger,
      errorCode: 'invalid_number',
      clock,
    })
    open.push(file)
    expect(file.current()).toBe(1)
    expect(file.health()).toEqual({
      status: 'ok',
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastReloadError: null,
    })

    // an atomic replace, as editors and config management do it
    writeFileSync(`${path}.next`, '2')
    renameSync(`${path}.next`, path)
    await expect.poll(() => file.current(), { timeout: 3_000, interval: 10 }).toBe(2)
    expect(reloads).toEqual([[2, 1]])

    clock.advance(60_000)
    writeFileSync(path, 'garbage')
    await expect.poll(() => logger.warnings.length, { timeout: 3_000, interval: 10 }).toBe(1)
    expect(logger.warnings[0]).toEqual([
      { code: 'CALLSIGN_TEST_RELOAD' },
      `${path} holds no number; keeping the last good number`,
    ])
    expect(file.current()).toBe(2)
    expect(file.health()).toEqual({
      status: 'degraded',
      loadedAt: '2026-01-01T00:00:00.000Z',
      lastReloadError: { at: '2026-01-01T00:01:00.000Z', error: 'invalid_number' },
    })
    await sleep(200) // many polls later, the same bad file is not reported again
    expect(logger.warnings).toHaveLength(1)

    clock.advance(60_000)
    writeFileSync(path, '3')
    await expect.poll(() => file.current(), { timeout: 3_000, interval: 10 }).toBe(3)
    expect(file.health()).toEqual({
      status: 'ok',
      loadedAt: '2026-01-01T00:02:00.000Z',
      lastReloadError: null,
    })
    expect(reloads).toEqual([
      [2, 1],
      [3, 2],
    ])
  })

  it('reloads on demand: true for good files, false (last good kept, onError told) for bad ones', () => {
    const path = numberFile('1')
    const errors: ConfigError[] = []
    const file = reloadableFile({
      paths: [path],
      load: loadNumber(path),
      watch: false,
      onError: (error) => errors.push(error),
    })
    writeFileSync(path, '5')
    expect(file.reload()).toBe(true)
    expect(file.current()).toBe(5)
    writeFileSync(path, 'five')
    expect(file.reload()).toBe(false)
    expect(file.current()).toBe(5)
    expect(errors.map((error) => error.message)).toEqual([`${path} holds no number`])
    expect(file.health()).toMatchObject({ status: 'degraded', lastReloadError: { error: 'invalid_file' } })
  })

  it('stops watching once closed; reload() still reads the files', async () => {
    const path = numberFile('1')
    const file = reloadableFile({ paths: [path], load: loadNumber(path), watch: quick, warning })
    file.close()
    writeFileSync(path, '2')
    await sleep(200)
    expect(file.current()).toBe(1)
    expect(file.reload()).toBe(true)
    expect(file.current()).toBe(2)
  })

  it('throws on an error that is not a ConfigError (a bug is not a bad file), keeping the value', () => {
    const path = numberFile('1')
    let fail = false
    const file = reloadableFile({
      paths: [path],
      load: () => {
        if (fail) throw new TypeError('a bug')
        return 1
      },
      watch: false,
      onError: () => expect.unreachable('a bug is not reported as a bad file'),
    })
    fail = true
    expect(() => file.reload()).toThrow(TypeError)
    expect(file.current()).toBe(1)
    expect(file.health().status).toBe('ok')
  })
})

describe('openReloadableFile', () => {
  const loadLater = (path: string) => async () => parse(path, await readFile(path, 'utf8'))

  it('rejects with the ConfigError of a bad file at startup', async () => {
    const path = numberFile('x')
    await expect(openReloadableFile({ paths: [path], load: loadLater(path), warning })).rejects.toThrow(
      ConfigError,
    )
  })

  it('follows a changed file and keeps the last good value on a bad one, with one warning', async () => {
    const path = numberFile('1')
    const logger = recordingLogger()
    const file = await openReloadableFile({
      paths: [path],
      load: loadLater(path),
      watch: quick,
      warning,
      logger,
    })
    open.push(file)
    writeFileSync(path, '2')
    await expect.poll(() => file.current(), { timeout: 3_000, interval: 10 }).toBe(2)
    writeFileSync(path, 'two')
    await expect.poll(() => logger.warnings.length, { timeout: 3_000, interval: 10 }).toBe(1)
    expect(file.current()).toBe(2)
    expect(await file.reload()).toBe(false)
    writeFileSync(path, '3')
    expect(await file.reload()).toBe(true)
    expect(file.current()).toBe(3)
  })

  it('runs loads one at a time, in the order asked for', async () => {
    const path = numberFile('0')
    const order: string[] = []
    let calls = 0
    const file = await openReloadableFile({
      paths: [path],
      load: async () => {
        const call = calls++
        order.push(`start ${call}`)
        await sleep(call === 1 ? 50 : 0) // the first reload is the slow one
        order.push(`end ${call}`)
        return call
      },
      watch: false,
      warning,
    })
    const results = await Promise.all([file.reload(), file.reload()])
    expect(results).toEqual([true, true])
    expect(order).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2'])
    expect(file.current()).toBe(2)
  })
})

// The reporting half of reloadableFile, as a part whose loads are its own (the file key store) uses
// it: told of each reload, it keeps loadedAt and the last failure for health() and reports each
// failure once. The metrics it feeds are read through the SDK in test/health/reload-health.test.ts.
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
      [
        { code: 'CALLSIGN_TEST_RELOAD' },
        'key store /etc/keys.json is not JSON; keeping the last good number',
      ],
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
