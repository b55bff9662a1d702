import { performance } from 'node:perf_hooks'
import {
  type AuditReason,
  type AuthRequest,
  type Caller,
  type Clock,
  ConfigError,
  systemClock,
  type Verifier,
} from '@callsign/core'
import { bearerValue, refusal, singleAuthorization, tokenBucket } from '@callsign/core/adapter'
import { LRUCache } from 'lru-cache'
import type { KeyStore } from './api-key-record.js'
import { checkEntry, checkState, type KeyEntry, sameKey, toEntry } from './lib/key-entry.js'
import { checkPrefix, decodeKey, ID_LENGTH, keyLength } from './lib/key-format.js'

export interface ApiKeyVerifierOptions {
  readonly store: KeyStore
  /** Also read the key from this one header (e.g. `'x-api-key'`). Default: `Authorization: Bearer` only. */
  readonly header?: string
  /** Key prefix. Default `'csk'`. */
  readonly prefix?: string
  readonly clock?: Clock
  /** Key records kept in memory. Default 10 000. */
  readonly cacheSize?: number
  /**
   * Store lookups (cache misses) allowed per second, so random key ids cannot flood a store where a
   * lookup costs something. Not spent on a store that answers from memory (`findLocal`, the file
   * store), nor on an id the store knows exists (`knows`, the PostgreSQL store). Default 100.
   */
  readonly lookupsPerSecond?: number
  /**
   * For a store that reports its notifications as interrupted (`isStale`, the PostgreSQL store after
   * losing its listening connection): how long a cached record stays trusted after it was read from
   * the store. Past it, the record is looked up again, and refused if the store cannot answer. A
   * revocation made while notifications are down can go unseen for this long; a shorter bound means
   * more lookups during such an outage. Default 5 000 ms.
   */
  readonly maxStaleMs?: number
}

const NONE: readonly string[] = []
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/
/** A cached "no such key", so a repeated unknown id does not reach the store either. */
const UNKNOWN = Object.freeze({ unknown: true as const })
type Cached = KeyEntry | typeof UNKNOWN

/** A bad key of ours: 401, the reason for the audit event only. */
const invalid = (reason: AuditReason, cause?: unknown) =>
  refusal('ERR_INVALID_CREDENTIAL', cause === undefined ? { reason } : { reason, cause })

/**
 * The API key verifier. Reads `Authorization: Bearer <key>` (and, when configured, one named header),
 * checks the key's format and checksum before any lookup, compares the secret's SHA-256 in constant
 * time, and returns the caller: id = the key's owner, scopes = its scopes, credentialId = its id.
 *
 * - A request with no key, or a Bearer value not shaped like our keys (a JWT), returns `null`.
 * - Unknown, revoked, expired, rotated-out or malformed: `ERR_INVALID_CREDENTIAL` (401); the reason
 *   goes to the audit event only. `Authorization` and the named header together, or the named header
 *   twice: `ERR_AMBIGUOUS_REQUEST` (400).
 * - Records are cached by key id (LRU); state and expiry are checked on every use, and the store's
 *   change notification evicts exactly the ids it names (or everything when it names none), so a
 *   revocation takes effect at once and unrelated keys stay warm. A store that holds its records in
 *   memory (`findLocal`) is read directly on a miss, with no lookup budget; for other stores misses
 *   are limited to `lookupsPerSecond`. While a store reports its notifications down (`isStale`), a
 *   record read from it more than `maxStaleMs` ago is looked up again before use. A cached key is
 *   answered synchronously; the entry remembers the whole key that last matched its hash, and the
 *   same key again is compared in constant time instead of hashed.
 *
 * @example
 * const pipeline = createPipeline({
 *   policy,
 *   verifiers: [apiKeyVerifier({ store: fileKeyStore('keys.json'), header: 'x-api-key' })],
 * })
 */
export function apiKeyVerifier(options: ApiKeyVerifierOptions): Verifier {
  const { store } = options ?? {}
  if (typeof store?.find !== 'function') throw new ConfigError('apiKeyVerifier: "store" must be a KeyStore')
  const prefix = checkPrefix(options.prefix, 'apiKeyVerifier: "prefix"')
  const header = options.header === undefined ? undefined : options.header.toLowerCase()
  if (header !== undefined && (!TOKEN.test(header) || header === 'authorization')) {
    throw new ConfigError('apiKeyVerifier: "header" must be a header name other than authorization')
  }
  const cacheSize = options.cacheSize ?? 10_000
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 1) {
    throw new ConfigError('apiKeyVerifier: "cacheSize" must be a positive integer')
  }
  const lookupsPerSecond = options.lookupsPerSecond ?? 100
  if (!(lookupsPerSecond > 0)) throw new ConfigError('apiKeyVerifier: "lookupsPerSecond" must be positive')
  const maxStaleMs = options.maxStaleMs ?? 5000
  if (!Number.isFinite(maxStaleMs) || maxStaleMs < 0) {
    throw new ConfigError('apiKeyVerifier: "maxStaleMs" must be a non-negative number of milliseconds')
  }
  const clock = options.clock ?? systemClock
  const marker = `${prefix}_`
  const markerAnywhere = new RegExp(`(?:^|[\\s,:=])${prefix}_`)

  // Without change notifications, a cached record is trusted for one second at most.
  const cache = new LRUCache<string, Cached>({ max: cacheSize, ...(store.onChange ? {} : { ttl: 1000 }) })
  let generation = 0
  store.onChange?.((changedIds) => {
    generation++
    if (changedIds === undefined) cache.clear()
    else for (const id of changedIds) cache.delete(id)
  })
  /** When each cached record was read from the store, for the stale rule. */
  const readAt = new WeakMap<KeyEntry, number>()
  const isStale = store.isStale?.bind(store)
  /** The cached answer for an id, unless notifications are down and the record was read too long ago. */
  const cached = (id: string): Cached | undefined => {
    const entry = cache.get(id)
    if (entry === undefined || entry === UNKNOWN || isStale === undefined || !isStale()) return entry
    if (clock.now() - (readAt.get(entry as KeyEntry) ?? 0) <= maxStaleMs) return entry
    cache.delete(id)
    return undefined
  }
  const knows = store.knows?.bind(store)
  const bucket = tokenBucket({ burst: Math.max(1, Math.ceil(lookupsPerSecond)), perSecond: lookupsPerSecond })
  const inFlight = new Map<string, Promise<Cached>>()

  const lookup = (id: string): Promise<Cached> => {
    const pending = inFlight.get(id)
    if (pending) return pending
    // The budget is for ids nobody issued: a key the store knows is never refused for it.
    if (!knows?.(id) && !bucket.take(performance.now())) return Promise.reject(invalid('lookup_rate_limited'))
    const started = generation
    const promise = store.find(id).then(
      (record) => {
        const entry = record ? toEntry(record) : UNKNOWN
        if (entry !== UNKNOWN) readAt.set(entry as KeyEntry, clock.now())
        if (generation === started) cache.set(id, entry)
        return entry
      },
      (cause: unknown) => {
        throw invalid('store_unavailable', cause)
      },
    )
    inFlight.set(id, promise)
    const forget = () => inFlight.delete(id)
    promise.then(forget, forget)
    return promise
  }

  /** A store that holds its records in memory answers at once, with no lookup budget to spend. */
  const findLocal = store.findLocal?.bind(store)
  const lookupLocal = (id: string): Cached | Promise<Cached> => {
    let record: ReturnType<NonNullable<typeof findLocal>>
    try {
      record = (findLocal as NonNullable<typeof findLocal>)(id)
    } catch (cause) {
      throw invalid('store_unavailable', cause)
    }
    if (record instanceof Promise) {
      // The store reads its file again first (it changed): not cached, the next use finds it in memory.
      return record.then(
        (found) => (found === undefined ? UNKNOWN : toEntry(found)),
        (cause: unknown) => {
          throw invalid('store_unavailable', cause)
        },
      )
    }
    if (record === undefined) return UNKNOWN // not cached: a key created a moment later is found at once
    const entry = toEntry(record)
    readAt.set(entry, clock.now())
    cache.set(id, entry)
    return entry
  }

  /** The presented key, `null` when the request carries none of ours. */
  const extract = (req: AuthRequest): string | null => {
    const value = singleAuthorization(req)
    const named = header === undefined ? NONE : req.header(header)
    if (named.length > 1) throw refusal('ERR_AMBIGUOUS_REQUEST', { reason: 'duplicate_credential_header' })
    if (named.length === 1) {
      if (value !== undefined) throw refusal('ERR_AMBIGUOUS_REQUEST', { reason: 'several_credentials' })
      return named[0]!
    }
    if (value === undefined) return null
    const token = bearerValue(value)
    if (token?.startsWith(marker)) return token
    // One of our keys, but under another scheme, with extra whitespace, or beside something else.
    if (markerAnywhere.test(value)) throw invalid('malformed')
    return null
  }

  /** The caller for a key whose record is known: the secret's hash compared, then state and expiry. */
  const accept = (entry: Cached, key: string, secret: string): Caller => {
    if (entry === UNKNOWN) throw invalid('unknown_key')
    const caller = checkEntry(entry as KeyEntry, secret, clock.now())
    if (typeof caller === 'string') throw invalid(caller)
    ;(entry as KeyEntry).matched = key
    return caller
  }

  const length = keyLength(prefix)
  const idStart = marker.length
  /** The cached record whose last matched key is exactly this one, if any. */
  const rememberedFor = (key: string): KeyEntry | undefined => {
    if (key.length !== length) return undefined
    const entry = cached(key.slice(idStart, idStart + ID_LENGTH))
    return entry !== undefined && entry !== UNKNOWN && sameKey(entry as KeyEntry, key)
      ? (entry as KeyEntry)
      : undefined
  }

  return {
    kind: 'api-key',
    health() {
      const store = options.store.health?.()
      return store ? { status: store.status, store } : { status: 'ok' }
    },
    // Synchronous whenever the record is cached; a cache miss waits for the store.
    verify(req) {
      const key = extract(req)
      if (key === null) return null
      const remembered = rememberedFor(key)
      if (remembered !== undefined) {
        // The same key as last time: its format, checksum and hash are known good.
        const caller = checkState(remembered, clock.now())
        if (typeof caller === 'string') throw invalid(caller)
        return caller
      }
      const decoded = decodeKey(key, prefix)
      if (!decoded.ok) throw invalid(decoded.reason === 'checksum' ? 'checksum' : 'malformed')
      const entry = cached(decoded.id)
      if (entry !== undefined) return accept(entry, key, decoded.secret)
      if (findLocal !== undefined) {
        const found = lookupLocal(decoded.id)
        if (found instanceof Promise) return found.then((entry) => accept(entry, key, decoded.secret))
        return accept(found, key, decoded.secret)
      }
      return lookup(decoded.id).then((found) => accept(found, key, decoded.secret))
    },
  }
}
