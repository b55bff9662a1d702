import type { HealthStatus } from '@callsign/core'
/**
 * One API key as a store keeps it (file format version 1). Never the plaintext key: only a hash of
 * its secret. Times are ISO 8601 strings (UTC), so the record is plain JSON.
 *
 * @example
 * const records = await fileKeyStore('keys.json').list()
 * const stale = records.filter((r) => r.state === 'active' && r.expiresAt === null)
 */
export interface ApiKeyRecord {
  /** The key id: 12 base62 characters, also found in the key text. Safe to log. */
  readonly id: string
  /** The service the key belongs to: the caller id it authenticates as. */
  readonly owner: string
  /** The scopes the key grants (`resource:action`). */
  readonly scopes: readonly string[]
  /** `sha256:<hex>` of the key's secret. */
  readonly secretHash: string
  readonly createdAt: string
  /** `null` only when no expiry was asked for explicitly. */
  readonly expiresAt: string | null
  readonly state: 'active' | 'revoked'
  readonly revokedAt: string | null
  /** The key this one replaced by rotation. */
  readonly rotatedFrom: string | null
  /** The key that replaced this one by rotation. */
  readonly rotatedTo: string | null
  /** When this key was rotated out. */
  readonly lastRotatedAt: string | null
  /** After a rotation, this key stops working here (never later than `expiresAt`). */
  readonly graceUntil: string | null
  /** Free-form labels (`team=payments`): lower-case names, string values. */
  readonly labels: Readonly<Record<string, string>>
}

/**
 * Where API key records live. `fileKeyStore` is the embedded default; a database-backed store
 * implements the same five operations. Every method rejects with a `KeyStoreError` for an unknown
 * id or an invalid record.
 *
 * @example
 * const store: KeyStore = fileKeyStore('/etc/orders/keys.json')
 * const record = await store.find('4fZr8Qm1TzAa')
 */
/** What a key store says of itself, for `pipeline.health()`. */
export interface KeyStoreHealth {
  /** `degraded`: the last reload failed and the last good records are in use. */
  readonly status: HealthStatus
  /** Records held in memory (a store that holds none leaves it out). */
  readonly keys?: number
  /** ISO time of the last good load; null before the first. */
  readonly loadedAt: string | null
  /** The last reload that failed, while no good one has followed it. */
  readonly lastReloadError: { readonly at: string; readonly error: string } | null
}

export interface KeyStore {
  /** Optional: the store's state (loaded and when, a failing reload), for `pipeline.health()`. */
  health?(): KeyStoreHealth
  /** The record with this id, or `undefined`. Called by the verifier on a cache miss. */
  find(id: string): Promise<ApiKeyRecord | undefined>
  /**
   * Optional, for a store that holds every record in memory (the file store): the record at once,
   * synchronously, or a promise when the store must first read its source again (an id it does not
   * hold, after the source changed: the file store's background reload). A verifier then looks keys
   * up without a lookup budget and caches no "unknown" answer, since a lookup costs nothing; a
   * store where a lookup costs something leaves it out.
   */
  findLocal?(id: string): ApiKeyRecord | undefined | Promise<ApiKeyRecord | undefined>
  /**
   * Optional, for a store that keeps the ids of its records in memory (the PostgreSQL store): true
   * when a record with this id exists, as far as the store has heard. A verifier looks a known id up
   * without spending its lookup budget, so valid callers are never refused for it however many keys
   * are active; only ids the store does not know spend the budget. `false` may be wrong for a key
   * created a moment ago (it then spends the budget, nothing worse).
   */
  knows?(id: string): boolean
  /** Adds a record; rejects when the id exists. */
  create(record: ApiKeyRecord): Promise<ApiKeyRecord>
  /** Replaces a record by the result of `change` (applied to the freshest copy; the id cannot change). */
  update(id: string, change: (current: ApiKeyRecord) => ApiKeyRecord): Promise<ApiKeyRecord>
  list(): Promise<readonly ApiKeyRecord[]>
  /**
   * Optional, for a store with transactions: adds `next` and replaces record `id` by the result of
   * `change` (applied to the freshest copy) in one transaction, or does neither; resolves to the
   * changed record. `rotateApiKey` uses it when present; otherwise it creates, then updates, and
   * revokes the new key if the update fails.
   */
  rotate?(
    id: string,
    next: ApiKeyRecord,
    change: (current: ApiKeyRecord) => ApiKeyRecord,
  ): Promise<ApiKeyRecord>
  /** Marks a key revoked, at once. Revoking a revoked key is not an error. */
  revoke(id: string): Promise<ApiKeyRecord>
  /**
   * Calls `listener` whenever records may have changed (here or in another process), with the ids
   * whose records were added, changed or removed, or with no argument when any record may have
   * changed. Returns an unsubscribe function. Optional: without it, a verifier keeps cached records
   * for one second only.
   */
  onChange?(listener: (changedIds?: readonly string[]) => void): () => void
  /**
   * Optional, for a store whose change notifications can be interrupted (a lost database
   * connection): true while a change made elsewhere might not be announced. A verifier then trusts
   * a cached record only for `maxStaleMs` after it was read from the store, and looks it up again
   * after that.
   */
  isStale?(): boolean
}
