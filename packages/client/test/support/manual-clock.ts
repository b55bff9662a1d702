import type { Clock } from '@callsign/core'

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2030, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}
