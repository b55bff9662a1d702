/**
 * Where a JWT verifier with replay protection records the one use of each token id (`iss` + `jti`):
 * in this process by default, or shared by every replica (`postgresReplayStore` from
 * `@callsign/store-postgres`), so a token replayed to another replica is refused there too.
 * A claim that rejects refuses the token (fail closed, audit reason `replay_store_unavailable`).
 *
 * @example
 * jwtVerifier({ ...options, replayProtection: { store: postgresReplayStore(url) } })
 */
export interface ReplayStore {
  /**
   * Records `key` as used until `untilMs` (ms since the epoch) and resolves `true`, unless it is
   * already recorded until after `nowMs`: then `false` (a replay), and nothing changes.
   */
  claim(key: string, untilMs: number, nowMs: number): boolean | Promise<boolean>
}
