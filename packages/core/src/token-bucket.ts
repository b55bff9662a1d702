/** How a {@link tokenBucket} fills: at most `burst` tokens, refilled at `perSecond` or `perMinute`. */
export type TokenBucketRate =
  | { readonly burst: number; readonly perSecond: number }
  | { readonly burst: number; readonly perMinute: number }

/** A token bucket on the caller's clock: every method takes the time `now` in milliseconds. */
export interface TokenBucket {
  /** The tokens held at `now`: those left, refilled for the time since, at most `burst`. */
  tokens(now: number): number
  /** Takes a token when a whole one is there: true; false, and nothing taken, when not. */
  take(now: number): boolean
  /** Takes a token even when no whole one is there, down to empty: every call costs (a penalty). */
  drain(now: number): void
  /** Milliseconds from `now` until a whole token is there; 0 when one is. */
  msUntilToken(now: number): number
}

/**
 * A token bucket, full when made: `take()` succeeds at most `burst` times at once, and then at the
 * refill rate on average. Time is the caller's (a `Clock`, or `performance.now()`), so a test can
 * move it and a keyed set of buckets (one per address) can share one clock.
 *
 * @example
 * const lookups = tokenBucket({ burst: 20, perSecond: 20 })
 * if (!lookups.take(performance.now())) return refuse('lookup_rate_limited')
 */
export function tokenBucket(rate: TokenBucketRate): TokenBucket {
  const { burst } = rate
  const perMs = 'perSecond' in rate ? rate.perSecond / 1000 : rate.perMinute / 60_000
  let left = burst
  /** When `left` was counted; undefined while the bucket has never been used (it is full). */
  let at: number | undefined
  const tokens = (now: number) => (at === undefined ? burst : Math.min(burst, left + (now - at) * perMs))
  return {
    tokens,
    take(now) {
      const level = tokens(now)
      if (level < 1) return false
      left = level - 1
      at = now
      return true
    },
    drain(now) {
      left = Math.max(0, tokens(now) - 1)
      at = now
    },
    msUntilToken(now) {
      const level = tokens(now)
      return level >= 1 ? 0 : (1 - level) / perMs
    },
  }
}
