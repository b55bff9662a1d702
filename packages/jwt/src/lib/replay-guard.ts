import { invalid } from './fail.js'

/**
 * Remembers one-time token ids until they expire (plus tolerance). Bounded: when full of live
 * entries it refuses new tokens (fail closed) rather than forget one that could be replayed.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>()
  private readonly maxEntries: number

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries
  }

  get size(): number {
    return this.seen.size
  }

  /** Records `key` until `untilMs`; throws `replayed` if it is already recorded. */
  use(key: string, untilMs: number, nowMs: number): void {
    const until = this.seen.get(key)
    if (until !== undefined && until > nowMs) throw invalid('replayed')
    if (until === undefined && this.seen.size >= this.maxEntries) {
      for (const [seenKey, seenUntil] of this.seen) if (seenUntil <= nowMs) this.seen.delete(seenKey)
      if (this.seen.size >= this.maxEntries) throw invalid('replay_cache_full')
    }
    this.seen.set(key, untilMs)
  }
}
