import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Clock } from '@callsign/core'

/** A clock the test moves by hand. */
export function manualClock(
  start = Date.parse('2030-01-01T00:00:00.000Z'),
): Clock & { advance(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance: (ms) => {
      now += ms
    },
  }
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{
  dir: string
  file: (name: string) => string
  remove: () => Promise<void>
}> {
  const dir = await mkdtemp(join(tmpdir(), 'callsign-api-key-'))
  return { dir, file: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Counts the event loop turns taken while `work` runs. */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0
  let running = true
  const spin = () => {
    if (!running) return
    turns++
    setImmediate(spin)
  }
  setImmediate(spin)
  const result = await work()
  running = false
  return { result, turns }
}
