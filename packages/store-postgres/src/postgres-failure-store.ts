import { type PostgresSharedStateOptions, sharedStatePool } from './lib/shared-state-pool.js'
import { storeFailure } from './lib/store-failure.js'

/** One set of failure buckets, as the issuer names it (`FailureRule` in `@callsign/issuer`). */
export interface FailureBucketRule {
  readonly name: string
  readonly burst: number
  readonly perMinute: number
}

/** The issuer's failed-authentication buckets on PostgreSQL (a `FailureStore` for `createIssuer`). */
export interface PostgresFailureStore {
  retryAfter(rule: FailureBucketRule, keys: readonly string[], nowMs: number): Promise<number>
  fail(rule: FailureBucketRule, keys: readonly string[], nowMs: number): Promise<void>
  close(): Promise<void>
}

/** Full buckets are deleted after this many failures. */
const PRUNE_EVERY = 1000

/**
 * The issuer's token buckets of failed client authentications in one PostgreSQL table every
 * issuer instance shares, so an address throttled by one instance is throttled by all. A failure is
 * one `INSERT … ON CONFLICT` statement that refills the bucket for the time passed and takes one
 * token, so concurrent failures at several instances are all counted. A call that fails or takes
 * longer than `timeoutMs` rejects: the issuer then refuses the token request (503,
 * `limiter_unavailable`).
 *
 * @example
 * const issuer = await createIssuer({ ...options, failedAuthentication: { store: postgresFailureStore(url) } })
 */
export function postgresFailureStore(
  url: string,
  options: PostgresSharedStateOptions = {},
): PostgresFailureStore {
  const where = 'postgresFailureStore'
  const { names, pool } = sharedStatePool(url, options, where, 'callsign-failure-store')
  const query = async (text: string, values: unknown[]) => {
    try {
      return await pool.query(text, values)
    } catch (cause) {
      throw storeFailure(cause, 'failure store')
    }
  }
  let failures = 0
  return {
    async retryAfter(rule, keys, nowMs) {
      const perMs = rule.perMinute / 60_000
      const { rows } = await query(
        `SELECT tokens, at_ms FROM ${names.failures} WHERE rule = $1 AND key = ANY($2)`,
        [rule.name, keys],
      )
      let wait = 0
      for (const row of rows) {
        const tokens = Math.min(rule.burst, row.tokens + Math.max(0, nowMs - Number(row.at_ms)) * perMs)
        if (tokens < 1) wait = Math.max(wait, Math.ceil((1 - tokens) / perMs / 1000))
      }
      return wait
    },
    async fail(rule, keys, nowMs) {
      const now = Math.floor(nowMs)
      const perMs = rule.perMinute / 60_000
      for (const key of keys) {
        await query(
          `INSERT INTO ${names.failures} AS f (rule, key, tokens, at_ms)
           VALUES ($1, $2, $3::float8 - 1, $5::bigint)
           ON CONFLICT (rule, key) DO UPDATE SET
             tokens = GREATEST(0, LEAST($3::float8, f.tokens + GREATEST(0, $5::bigint - f.at_ms) * $4::float8) - 1),
             at_ms = GREATEST(f.at_ms, $5::bigint)`,
          [rule.name, key, rule.burst, perMs, now],
        )
      }
      if (++failures % PRUNE_EVERY === 0) {
        // a bucket untouched for as long as it takes to refill from empty is full: forget it
        const full = now - Math.ceil(rule.burst / perMs)
        pool
          .query(`DELETE FROM ${names.failures} WHERE rule = $1 AND at_ms < $2`, [rule.name, full])
          .catch(() => {})
      }
    },
    async close() {
      await pool.end().catch(() => {})
    },
  }
}
