import { createHash } from 'node:crypto'
import { type PostgresSharedStateOptions, sharedState } from './lib/shared-state.js'

/** A JWT replay store on PostgreSQL (a `ReplayStore` for `jwtVerifier`'s `replayProtection`). */
export interface PostgresReplayStore {
  claim(key: string, untilMs: number, nowMs: number): Promise<boolean>
  close(): Promise<void>
}

/**
 * The one use of each token id, in one PostgreSQL table every replica shares: a token replayed to
 * any replica is refused there (`replayed`). A claim is one `INSERT … ON CONFLICT` statement, so two
 * replicas given the same token at the same moment cannot both accept it. Keys are stored as their
 * SHA-256 with the time they expire; expired ones are taken over, and deleted now and then. A claim
 * that fails or takes longer than `timeoutMs` rejects, and the verifier refuses the token
 * (`replay_store_unavailable`).
 *
 * @example
 * const replay = postgresReplayStore(process.env.CALLSIGN_STATE_URL)
 * const jwt = jwtVerifier({ issuer, audience: 'orders', jwksUri, replayProtection: { store: replay } })
 */
export function postgresReplayStore(
  url: string,
  options: PostgresSharedStateOptions = {},
): PostgresReplayStore {
  const state = sharedState(url, options, { where: 'postgresReplayStore', what: 'replay store' })
  const table = state.names.replay
  return {
    async claim(key, untilMs, nowMs) {
      const hash = createHash('sha256').update(key).digest()
      const now = Math.floor(nowMs)
      const { rowCount } = await state.query(
        `INSERT INTO ${table} AS r (key_hash, until_ms) VALUES ($1, $2)
         ON CONFLICT (key_hash) DO UPDATE SET until_ms = EXCLUDED.until_ms WHERE r.until_ms <= $3`,
        [hash, Math.ceil(untilMs), now],
      )
      state.pruneNowAndThen(`DELETE FROM ${table} WHERE until_ms <= $1`, [now])
      return rowCount === 1
    },
    close: state.close,
  }
}
