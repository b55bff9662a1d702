import type { Caller } from '@callsign/core'
import { LRUCache } from 'lru-cache'
import type { KeyRecord } from './key-set.js'
import type { KeySource } from './key-source.js'

export interface CachedToken {
  /** The whole token: an entry is only ever used for exactly this string. */
  readonly token: string
  readonly caller: Caller
  /** Seconds since the epoch. */
  readonly exp: number
  readonly nbf: number | undefined
  readonly record: KeyRecord
  /** Where the key came from: asked on every hit whether its keys may still be trusted. */
  readonly source: KeySource
  /** `cnf["x5t#S256"]` of a certificate-bound token. */
  readonly x5t: string | undefined
  readonly replayKey: string | undefined
}

/**
 * Verified tokens. An entry is only used for the very token it was verified for, while its key is
 * still in its key set, that set is within its stale bound, and the token's time window holds. Entries are found by the token's last
 * {@link TAIL} characters, from its signature: hashing a short string costs a fraction of hashing a
 * whole token, and two tokens with the same tail are still told apart by comparing the whole token
 * (a forged token that copies a tail is a miss, then a full verification that fails).
 *
 * A token is cached from its second verification on, not its first: a doorkeeper (as in TinyLFU)
 * remembers a hash of each tail seen once, in a fixed table of at least four slots per entry. A
 * token used once then costs no insert and holds no memory, and a stream of one-shot tokens evicts
 * none of the tokens in use; a token used again pays one more verification, once. A hash collision
 * only caches a token a use early. Kept for that defence, not for speed: callers that mint a token
 * per request cannot evict the tokens other callers reuse.
 */
const TAIL = 32

/** The lookup key of a token. */
const tailOf = (token: string) => (token.length > TAIL ? token.slice(-TAIL) : token)

/** FNV-1a of a string's UTF-16 code units. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return hash
}

export class TokenCache {
  private readonly lru: LRUCache<string, CachedToken>
  /** Tail hashes of tokens seen once: the doorkeeper. Its length is a power of two. */
  private readonly seen: Int32Array
  hits = 0
  misses = 0

  constructor(maxEntries: number) {
    this.lru = new LRUCache({ max: maxEntries })
    this.seen = new Int32Array(2 ** Math.ceil(Math.log2(Math.max(64, maxEntries * 4))))
  }

  get size(): number {
    return this.lru.size
  }

  /** The entry for this token if it is still valid at `nowSeconds`; drops it otherwise. */
  get(token: string, nowSeconds: number, tolerance: number): CachedToken | undefined {
    const key = tailOf(token)
    const entry = this.lru.get(key)
    if (entry === undefined || entry.token !== token) {
      this.misses++
      return undefined
    }
    if (entry.record.retired || nowSeconds - tolerance >= entry.exp || !entry.source.stillTrusted()) {
      this.lru.delete(key)
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

  /** Caches a verified token if it was verified before; otherwise remembers that it has been now. */
  admit(entry: CachedToken): void {
    const tail = tailOf(entry.token)
    const hash = hashOf(tail)
    const slot = hash & (this.seen.length - 1)
    if (this.seen[slot] === hash) this.lru.set(tail, entry)
    else this.seen[slot] = hash
  }

  /** Drops every token verified with one of these keys. */
  evict(records: readonly KeyRecord[]): void {
    const gone = new Set(records)
    for (const [key, entry] of this.lru.entries()) if (gone.has(entry.record)) this.lru.delete(key)
  }
}
