import { performance } from 'node:perf_hooks'

/** A token bucket: `take()` succeeds at most `perSecond` times a second on average, `burst` at once. */
export function tokenBucket(perSecond: number, burst: number): { take(): boolean } {
  let tokens = burst
  let last = performance.now()
  return {
    take() {
      const now = performance.now()
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond)
      last = now
      if (tokens < 1) return false
      tokens -= 1
      return true
    },
  }
}
