import type { Clock } from '@callsign/core'
import { invalid } from './fail.js'
import { FetchFailure } from './fetch-json.js'
import { importPublicJwk, type KeyRecord, KeySet } from './key-set.js'
import type { KeySetTelemetry } from './key-set-telemetry.js'
import type { KeySource, KeySourceHealth } from './key-source.js'

export interface KeyCacheSettings {
  /** Seconds a fetched key set is fresh. */
  readonly maxAge: number
  /** Refresh in the background this many seconds before the set stops being fresh. */
  readonly refreshAhead: number
  /** Seconds past `maxAge` that the last good set is still used while fetches fail. */
  readonly staleIfError: number
  /** Minimum seconds between fetches triggered by unknown kids or failures. */
  readonly cooldown: number
  readonly timeoutMs: number
  readonly maxBytes: number
}

export interface RemoteKeySetOptions {
  readonly issuer: string
  readonly source: 'jwks' | 'discovery'
  readonly url: string
  /** Fetches the JWKS document (throws FetchFailure). */
  readonly load: () => Promise<unknown>
  readonly clock: Clock
  readonly settings: KeyCacheSettings
  readonly allowed: ReadonlySet<string>
  /** Told about keys that left the set, so tokens verified with them are dropped. */
  readonly onRetired: (records: readonly KeyRecord[]) => void
  /** Told about every fetch, as it ends. */
  readonly telemetry?: KeySetTelemetry
}

const MAX_KEYS = 100

/**
 * One issuer's remote key set: single-flight fetches, refetch on an unknown kid at most once per
 * cool-down, refresh ahead of expiry, stale-if-error within a bound, then fail closed.
 */
export class RemoteKeySet implements KeySource {
  private set: KeySet | undefined
  private fetchedAt = Number.NEGATIVE_INFINITY
  private attemptedAt = Number.NEGATIVE_INFINITY
  private lastError: string | null = 'not_fetched'
  /** The last answer was a document with no usable key: health says failing until a good one. */
  private unusableAnswer = false
  private inflight: Promise<void> | undefined
  private readonly options: RemoteKeySetOptions

  constructor(options: RemoteKeySetOptions) {
    this.options = options
  }

  async getKey(kid: string | undefined, alg: string): Promise<KeyRecord> {
    const { clock, settings } = this.options
    const now = clock.now()
    const age = now - this.fetchedAt
    if (!this.set || age >= (settings.maxAge + settings.staleIfError) * 1000) {
      if (this.inflight || this.mayFetch(now)) await this.refresh()
      if (!this.usable(clock.now())) throw invalid('keys_unavailable')
    } else if (
      age >= (settings.maxAge - settings.refreshAhead) * 1000 &&
      !this.inflight &&
      this.mayFetch(now)
    ) {
      void this.refresh()
    }
    let found = (this.set as KeySet).find(kid, alg)
    if (found === undefined && (this.inflight || this.mayFetch(clock.now()))) {
      await this.refresh()
      if (this.usable(clock.now())) found = (this.set as KeySet).find(kid, alg)
    }
    if (found === undefined) throw invalid('unknown_kid')
    if (found === 'mismatch') throw invalid('alg_not_allowed')
    return found
  }

  keyAtHand(kid: string | undefined, alg: string): KeyRecord | undefined {
    const { clock, settings } = this.options
    // Only while no refresh is due: getKey starts those.
    if (!this.set || clock.now() - this.fetchedAt >= (settings.maxAge - settings.refreshAhead) * 1000) {
      return undefined
    }
    const found = this.set.find(kid, alg)
    return typeof found === 'object' ? found : undefined
  }

  stillTrusted(): boolean {
    const { clock, settings } = this.options
    const now = clock.now()
    if (now - this.fetchedAt >= (settings.maxAge - settings.refreshAhead) * 1000 && !this.inflight) {
      if (this.mayFetch(now)) void this.refresh()
    }
    return this.usable(now)
  }

  warmUp(): Promise<void> {
    return this.refresh()
  }

  health(): KeySourceHealth {
    const { settings, clock } = this.options
    const age = clock.now() - this.fetchedAt
    const state =
      !this.set || this.unusableAnswer
        ? 'failing'
        : age < settings.maxAge * 1000
          ? 'fresh'
          : age < (settings.maxAge + settings.staleIfError) * 1000
            ? 'stale'
            : 'failing'
    return {
      issuer: this.options.issuer,
      source: this.options.source,
      url: this.options.url,
      state,
      keys: this.set?.records.length ?? 0,
      lastSuccessAgeSeconds: this.set ? Math.max(0, Math.floor(age / 1000)) : null,
      lastError: this.lastError,
    }
  }

  /** Fetches now, or joins the fetch in flight. Never rejects: a failure is recorded. */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight
    this.attemptedAt = this.options.clock.now()
    const trigger = this.set === undefined ? 'initial' : 'refresh'
    const flight = this.options
      .load()
      .then(
        (document) => this.apply(document),
        (error: unknown) => {
          this.lastError = error instanceof FetchFailure ? error.reason : 'fetch_failed'
          this.unusableAnswer = false
        },
      )
      .finally(() => {
        this.options.telemetry?.fetched(this.options.issuer, trigger, this.lastError)
        if (this.inflight === flight) this.inflight = undefined
      })
    this.inflight = flight
    return flight
  }

  private mayFetch(now: number): boolean {
    return now - this.attemptedAt >= this.options.settings.cooldown * 1000
  }

  private usable(now: number): boolean {
    const { settings } = this.options
    return this.set !== undefined && now - this.fetchedAt < (settings.maxAge + settings.staleIfError) * 1000
  }

  /**
   * Takes a fetched JWKS. An answer with no usable key (none at all, or none that imports for the
   * allowed algorithms) is a failed fetch: it never replaces the last good set.
   */
  private apply(document: unknown): void {
    const keys = (document as { keys?: unknown } | null)?.keys
    if (typeof document !== 'object' || document === null || !Array.isArray(keys) || keys.length > MAX_KEYS) {
      this.lastError = 'invalid_jwks'
      this.unusableAnswer = true
      return
    }
    const previous = new Map((this.set?.records ?? []).map((record) => [record.fingerprint, record]))
    const records: KeyRecord[] = []
    for (const jwk of keys) {
      const imported = importPublicJwk(jwk, this.options.allowed)
      if (!imported) continue
      records.push(previous.get(imported.fingerprint) ?? imported)
    }
    if (records.length === 0) {
      this.lastError = 'no_usable_keys'
      this.unusableAnswer = true
      return
    }
    const kept = new Set(records)
    const retired = [...previous.values()].filter((record) => !kept.has(record))
    this.set = new KeySet(records)
    this.fetchedAt = this.options.clock.now()
    this.lastError = null
    this.unusableAnswer = false
    if (retired.length > 0) {
      for (const record of retired) record.retired = true
      this.options.onRetired(retired)
    }
  }
}
