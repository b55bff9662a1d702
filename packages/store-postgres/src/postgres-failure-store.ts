import { type PostgresSharedStateOptions, sharedState } from './lib/shared-state.js'

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
  const state = sharedState(url, options, { where: 'postgresFailureStore', what: 'failure store' })
  const table = state.names.failures
  return {
    async retryAfter(rule, keys, nowMs) {
      const perMs = rule.perMinute / 60_000
      const { rows } = await state.query(
        `SELECT tokens, at_ms FROM ${table} WHERE rule = $1 AND key = ANY($2)`,
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
        await state.query(
          `INSERT INTO ${table} AS f (rule, key, tokens, at_ms)
           VALUES ($1, $2, $3::float8 - 1, $5::bigint)
           ON CONFLICT (rule, key) DO UPDATE SET
             tokens = GREATEST(0, LEAST($3::float8, f.tokens + GREATEST(0, $5::bigint - f.at_ms) * $4::float8) - 1),
             at_ms = GREATEST(f.at_ms, $5::bigint)`,
          [rule.name, key, rule.burst, perMs, now],
        )
      }
      // a bucket untouched for as long as it takes to refill from empty is full: forget it
      const full = now - Math.ceil(rule.burst / perMs)
      state.pruneNowAndThen(`DELETE FROM ${table} WHERE rule = $1 AND at_ms < $2`, [rule.name, full])
    },
    close: state.close,
  }
}
