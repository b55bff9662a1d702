/**
 * One set of failure buckets of the issuer's failed-authentication limit: `pair` (an address with a
 * client id) or `address`, each with its burst and refill rate.
 */
export interface FailureRule {
  readonly name: 'pair' | 'address'
  /** Failures allowed in a burst. */
  readonly burst: number
  /** Failures forgiven per minute (the bucket's refill rate). */
  readonly perMinute: number
}

/**
 * Where the issuer counts failed client authentications: in this process (`memoryFailureStore`, the
 * default) or shared by every issuer instance (`postgresFailureStore` from
 * `@callsign/store-postgres`), so an address throttled by one instance is throttled by all.
 * A method that rejects makes the token request fail closed (503 `temporarily_unavailable`).
 *
 * @example
 * createIssuer({ ...options, failedAuthentication: { store: postgresFailureStore(url) } })
 */
export interface FailureStore {
  /** Seconds to wait before any of these keys may fail again; 0 when none is exhausted. */
  retryAfter(rule: FailureRule, keys: readonly string[], nowMs: number): number | Promise<number>
  /** Records one failure against each key. */
  fail(rule: FailureRule, keys: readonly string[], nowMs: number): void | Promise<void>
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * The default {@link FailureStore}: token buckets in Maps, at most `maxTracked` per rule, the least
 * recently failed forgotten first. A full bucket is not kept: only keys that failed recently cost memory.
 */
export function memoryFailureStore(options: { readonly maxTracked: number }): FailureStore {
  const rules = new Map<string, Map<string, Bucket>>()
  const bucketsOf = (rule: FailureRule) => {
    let buckets = rules.get(rule.name)
    if (!buckets) {
      buckets = new Map()
      rules.set(rule.name, buckets)
    }
    return buckets
  }
  const level = (rule: FailureRule, key: string, now: number): number => {
    const buckets = bucketsOf(rule)
    const bucket = buckets.get(key)
    if (!bucket) return rule.burst
    const tokens = Math.min(rule.burst, bucket.tokens + (now - bucket.at) * (rule.perMinute / 60_000))
    if (tokens >= rule.burst) buckets.delete(key)
    return tokens
  }
  return {
    retryAfter(rule, keys, now) {
      return Math.max(0, ...keys.map((key) => waitFor(rule, level(rule, key, now))))
    },
    fail(rule, keys, now) {
      const buckets = bucketsOf(rule)
      for (const key of keys) {
        const tokens = Math.max(0, level(rule, key, now) - 1)
        buckets.delete(key) // re-insert: the Map's order is then least recently failed first
        buckets.set(key, { tokens, at: now })
        if (buckets.size > options.maxTracked) buckets.delete(buckets.keys().next().value as string)
      }
    },
  }
}

/** Seconds until a bucket at `tokens` holds one again; 0 when it does. */
export function waitFor(rule: FailureRule, tokens: number): number {
  return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / (rule.perMinute / 60_000) / 1000)
}
