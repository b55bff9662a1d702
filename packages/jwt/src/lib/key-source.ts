import type { KeyRecord } from './key-set.js'

/** The health of one issuer's keys. */
export interface KeySourceHealth {
  readonly issuer: string
  readonly source: 'static' | 'jwks' | 'discovery' | 'secret'
  /** The JWKS or discovery URL (no credentials are ever in it). */
  readonly url?: string
  /**
   * `fresh`: keys younger than the cache's max age; `stale`: older, served while the issuer is
   * unreachable, within the stale-if-error bound; `failing`: no usable keys, tokens are refused, or
   * the issuer's last answer held no usable key (the last good keys are still used within the
   * bound, and `lastError` says why).
   */
  readonly state: 'fresh' | 'stale' | 'failing'
  readonly keys: number
  /** Seconds since the last good fetch; null before the first one. */
  readonly lastSuccessAgeSeconds: number | null
  /** Why the last fetch failed (`timeout`, `http_status`, `too_large`, `invalid_json` …). */
  readonly lastError: string | null
}

/** Where the keys of one issuer come from. */
export interface KeySource {
  /** The key for a token; throws a 401 AuthError (`unknown_kid`, `keys_unavailable` …). */
  getKey(kid: string | undefined, alg: string): Promise<KeyRecord>
  /**
   * The key for a token when it is at hand, with nothing to fetch or refresh first; `undefined`
   * sends the caller to {@link getKey}, which decides everything else (unknown kid, refetch, errors).
   */
  keyAtHand(kid: string | undefined, alg: string): KeyRecord | undefined
  /**
   * Whether tokens verified earlier with these keys may still be accepted from the token cache:
   * false once the keys are past their stale bound (a cached token is then refused as an uncached
   * one is). Starts a background refresh when one is due.
   */
  stillTrusted(): boolean
  warmUp(): Promise<void>
  health(): KeySourceHealth
}
