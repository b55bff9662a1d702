import { type TokenBucket, tokenBucket } from '@callsign/core/adapter'

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

/**
 * The default {@link FailureStore}: a token bucket per key (core's `tokenBucket`, refilled at the
 * rule's rate) in a Map per rule, at most `maxTracked` per rule, the least recently failed
 * forgotten first. A full bucket is not kept: only keys that failed recently cost memory. A rule
 * is the same each time its name is given (the issuer's limiter makes two, once).
 */
export function memoryFailureStore(options: { readonly maxTracked: number }): FailureStore {
  const rules = new Map<string, Map<string, TokenBucket>>()
  const bucketsOf = (rule: FailureRule) => {
    let buckets = rules.get(rule.name)
    if (!buckets) {
      buckets = new Map()
      rules.set(rule.name, buckets)
    }
    return buckets
  }
  /** The key's bucket; none when it has not failed lately or has refilled since (then forgotten). */
  const bucketOf = (rule: FailureRule, key: string, now: number): TokenBucket | undefined => {
    const buckets = bucketsOf(rule)
    const bucket = buckets.get(key)
    if (bucket && bucket.tokens(now) >= rule.burst) {
      buckets.delete(key)
      return undefined
    }
    return bucket
  }
  return {
    retryAfter(rule, keys, now) {
      const waits = keys.map((key) => bucketOf(rule, key, now)?.msUntilToken(now) ?? 0)
      return Math.ceil(Math.max(0, ...waits) / 1000)
    },
    fail(rule, keys, now) {
      const buckets = bucketsOf(rule)
      for (const key of keys) {
        const bucket = bucketOf(rule, key, now) ?? tokenBucket(rule)
        bucket.drain(now) // every failure counts, even one that came while the bucket was empty
        buckets.delete(key) // re-insert: the Map's order is then least recently failed first
        buckets.set(key, bucket)
        if (buckets.size > options.maxTracked) buckets.delete(buckets.keys().next().value as string)
      }
    },
  }
}
