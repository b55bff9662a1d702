import type { Clock } from '@callsign/core'

/** How many failures are tolerated per key (see address-limiter.ts for the keys). */
export interface FailureLimiterOptions {
  /** Failures allowed in a burst. */
  readonly burst: number
  /** Failures forgiven per minute (the bucket's refill rate). */
  readonly perMinute: number
  /** Buckets kept at most; the oldest is forgotten first. */
  readonly maxTracked: number
  readonly clock: Clock
}

export interface FailureLimiter {
  /** Seconds to wait before any of these keys may try again; 0 when none is exhausted. */
  retryAfter(keys: readonly string[]): number
  /** Records one failure against each key. */
  fail(keys: readonly string[]): void
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets of failed attempts, one per key, in a Map with a cap.
 * A full bucket is not kept: only keys that failed recently cost memory.
 */
export function failureLimiter(options: FailureLimiterOptions): FailureLimiter {
  const { burst, perMinute, maxTracked, clock } = options
  const perMs = perMinute / 60_000
  const buckets = new Map<string, Bucket>()

  const level = (key: string, now: number): number => {
    const bucket = buckets.get(key)
    if (!bucket) return burst
    const tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs)
    if (tokens >= burst) buckets.delete(key)
    return tokens
  }

  return {
    retryAfter(keys) {
      const now = clock.now()
      let wait = 0
      for (const key of keys) {
        const tokens = level(key, now)
        if (tokens < 1) wait = Math.max(wait, Math.ceil((1 - tokens) / perMs / 1000))
      }
      return wait
    },
    fail(keys) {
      const now = clock.now()
      for (const key of keys) {
        const tokens = Math.max(0, level(key, now) - 1)
        buckets.delete(key) // re-insert: the Map's order is then least recently failed first
        buckets.set(key, { tokens, at: now })
        if (buckets.size > maxTracked) buckets.delete(buckets.keys().next().value as string)
      }
    },
  }
}
