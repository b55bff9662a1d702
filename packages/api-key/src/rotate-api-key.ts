import { type Clock, ConfigError, systemClock } from '@callsign/core'
import type { ApiKeyRecord, KeyStore } from './api-key-record.js'
import { type CreatedApiKey, createApiKey, newApiKey } from './create-api-key.js'
import { KeyStoreError } from './key-store-error.js'

/** The default grace period of a rotated-out key: 24 hours. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000

export interface RotateApiKeyOptions {
  /** How long the old key keeps working; never past its own expiry. Default 24 h; 0 ends it at once. */
  readonly graceMs?: number
  /** Lifetime of the new key (ms or `'never'`). Default 90 days. */
  readonly expiresIn?: number | 'never'
  readonly prefix?: string
  readonly clock?: Clock
}

export interface RotatedApiKey extends CreatedApiKey {
  /** The old key's record, now with `rotatedTo` and `graceUntil` set. */
  readonly previous: ApiKeyRecord
}

/**
 * Replaces a key: a new key with the same owner, scopes and labels, and the old one kept valid for
 * a grace period that never extends its expiry. Rejects (`KeyStoreError` `ERR_KEY_STATE`) for a
 * revoked, expired or already rotated key.
 *
 * @example
 * const { key, previous } = await rotateApiKey(store, 'Q2b9xk3LmP0a', { graceMs: 60 * 60 * 1000 })
 */
export async function rotateApiKey(
  store: KeyStore,
  id: string,
  options: RotateApiKeyOptions = {},
): Promise<RotatedApiKey> {
  const graceMs = options.graceMs ?? DEFAULT_ROTATION_GRACE_MS
  if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
    throw new ConfigError('"graceMs" must be a non-negative number of milliseconds')
  }
  const clock = options.clock ?? systemClock
  const old = await store.find(id)
  if (!old) throw new KeyStoreError('ERR_KEY_NOT_FOUND', `no key with id "${id}"`)
  assertRotatable(old, clock.now())
  const newKey = {
    owner: old.owner,
    scopes: old.scopes,
    labels: old.labels,
    rotatedFrom: old.id,
    clock,
    ...(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn }),
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
  }
  const rotatedTo = (nextId: string) => (current: ApiKeyRecord) => {
    const now = clock.now()
    assertRotatable(current, now)
    const expires = current.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(current.expiresAt)
    return {
      ...current,
      rotatedTo: nextId,
      lastRotatedAt: new Date(now).toISOString(),
      graceUntil: new Date(Math.min(now + graceMs, expires)).toISOString(),
    }
  }
  if (store.rotate) {
    const made = newApiKey(newKey)
    const previous = await store.rotate(id, made.record, rotatedTo(made.record.id))
    return { ...made, previous }
  }
  const created = await createApiKey(store, newKey)
  try {
    const previous = await store.update(id, rotatedTo(created.record.id))
    return { ...created, previous }
  } catch (error) {
    await store.revoke(created.record.id).catch(() => {})
    throw error
  }
}

function assertRotatable(record: ApiKeyRecord, now: number): void {
  if (record.state === 'revoked') throw new KeyStoreError('ERR_KEY_STATE', `key ${record.id} is revoked`)
  if (record.rotatedTo !== null) {
    throw new KeyStoreError('ERR_KEY_STATE', `key ${record.id} was already rotated to ${record.rotatedTo}`)
  }
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now) {
    throw new KeyStoreError('ERR_KEY_STATE', `key ${record.id} has expired: create a new key instead`)
  }
}
