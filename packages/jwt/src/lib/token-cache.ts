import type { Caller } from '@callsign/core'
import { LRUCache } from 'lru-cache'
import type { KeyRecord } from './key-set.js'

export interface CachedToken {
  readonly caller: Caller
  /** Seconds since the epoch. */
  readonly exp: number
  readonly nbf: number | undefined
  readonly record: KeyRecord
  /** `cnf["x5t#S256"]` of a certificate-bound token. */
  readonly x5t: string | undefined
  readonly replayKey: string | undefined
}

/**
 * Verified tokens, keyed by the whole token string (two different tokens can never share an
 * entry). An entry is only used while its key is still in its key set and its time window holds.
 */
export class TokenCache {
  private readonly lru: LRUCache<string, CachedToken>
  hits = 0
  misses = 0

  constructor(maxEntries: number) {
    this.lru = new LRUCache({ max: maxEntries })
  }

  get size(): number {
    return this.lru.size
  }

  /** The entry for this token if it is still valid at `nowSeconds`; drops it otherwise. */
  get(token: string, nowSeconds: number, tolerance: number): CachedToken | undefined {
    const entry = this.lru.get(token)
    if (entry === undefined) {
      this.misses++
      return undefined
    }
    if (entry.record.retired || nowSeconds - tolerance >= entry.exp) {
      this.lru.delete(token)
      this.misses++
      return undefined
    }
    if (entry.nbf !== undefined && entry.nbf > nowSeconds + tolerance) {
      this.misses++
      return undefined
    }
    this.hits++
    return entry
  }

  set(token: string, entry: CachedToken): void {
    this.lru.set(token, entry)
  }

  /** Drops every token verified with one of these keys. */
  evict(records: readonly KeyRecord[]): void {
    const gone = new Set(records)
    for (const [token, entry] of this.lru.entries()) if (gone.has(entry.record)) this.lru.delete(token)
  }
}
