import { type Clock, ConfigError, isScope, systemClock } from '@callsign/core'
import type { ApiKeyRecord, KeyStore } from './api-key-record.js'
import { generateApiKey } from './generate-api-key.js'
import { isLabelName, isOwner } from './lib/validate-record.js'

/** The default lifetime of a key: 90 days. */
export const DEFAULT_KEY_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000

export interface CreateApiKeyOptions {
  /** The service the key authenticates as. */
  readonly owner: string
  /** At least one `resource:action` scope. */
  readonly scopes: readonly string[]
  /** Lifetime in milliseconds, or `'never'` for no expiry (only when asked for). Default 90 days. */
  readonly expiresIn?: number | 'never'
  readonly labels?: Readonly<Record<string, string>>
  /** Key prefix. Default `'csk'`. */
  readonly prefix?: string
  readonly clock?: Clock
  /** Set by rotation: the id of the key this one replaces. */
  readonly rotatedFrom?: string
}

export interface CreatedApiKey {
  /** The plaintext key: hand it over once; it is not stored anywhere. */
  readonly key: string
  readonly record: ApiKeyRecord
}

/**
 * Generates a key and stores its record (the secret's hash, never the key). The options are
 * checked first; a bad one throws a `ConfigError` naming it and nothing is stored.
 *
 * @example
 * const { key, record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
 * console.log(key) // once
 */
export async function createApiKey(store: KeyStore, options: CreateApiKeyOptions): Promise<CreatedApiKey> {
  const made = newApiKey(options)
  return { key: made.key, record: await store.create(made.record) }
}

/** {@link createApiKey} without the store: the options checked, a key generated, its first record. */
export function newApiKey(options: CreateApiKeyOptions): CreatedApiKey {
  if (!isOwner(options.owner)) throw new ConfigError('"owner" must be a service id without whitespace')
  if (!Array.isArray(options.scopes) || options.scopes.length === 0) {
    throw new ConfigError('"scopes" must list at least one scope')
  }
  for (const scope of options.scopes) {
    if (!isScope(scope)) throw new ConfigError(`"scopes" has a malformed scope ${JSON.stringify(scope)}`)
  }
  const expiresIn = options.expiresIn ?? DEFAULT_KEY_LIFETIME_MS
  if (expiresIn !== 'never' && (!Number.isSafeInteger(expiresIn) || expiresIn <= 0)) {
    throw new ConfigError('"expiresIn" must be a positive number of milliseconds or "never"')
  }
  const labels = options.labels ?? {}
  for (const [name, value] of Object.entries(labels)) {
    if (!isLabelName(name) || typeof value !== 'string' || value.length > 256) {
      throw new ConfigError(`"labels" has an invalid label ${JSON.stringify(name)}`)
    }
  }
  const now = (options.clock ?? systemClock).now()
  const generated = generateApiKey(options.prefix === undefined ? {} : { prefix: options.prefix })
  const record: ApiKeyRecord = {
    id: generated.id,
    owner: options.owner,
    scopes: [...new Set(options.scopes)],
    secretHash: generated.secretHash,
    createdAt: new Date(now).toISOString(),
    expiresAt: expiresIn === 'never' ? null : new Date(now + expiresIn).toISOString(),
    state: 'active',
    revokedAt: null,
    rotatedFrom: options.rotatedFrom ?? null,
    rotatedTo: null,
    lastRotatedAt: null,
    graceUntil: null,
    labels: { ...labels },
  }
  return { key: generated.key, record }
}
