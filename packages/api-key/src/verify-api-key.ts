import { AuthError, type Caller, type Clock, systemClock } from '@callsign/core'
import type { KeyStore } from './api-key-record.js'
import { checkEntry, toEntry } from './lib/key-entry.js'
import { checkPrefix, decodeKey } from './lib/key-format.js'

export interface VerifyApiKeyOptions {
  /** Key prefix. Default `'csk'`. */
  readonly prefix?: string
  readonly clock?: Clock
}

/**
 * Verifies one plaintext key against a store, with no cache: for code that receives a key outside a
 * request pipeline (the issuer's client authentication). Resolves to the caller, or rejects with
 * `AuthError('ERR_INVALID_CREDENTIAL')` and a reason: `malformed`, `checksum`, `unknown_key`,
 * `wrong_secret`, `revoked`, `expired`, `rotated`.
 *
 * @example
 * const caller = await verifyApiKey(store, clientSecret)
 * // caller.id === 'billing', caller.credentialId === the key id
 */
export async function verifyApiKey(
  store: KeyStore,
  key: string,
  options: VerifyApiKeyOptions = {},
): Promise<Caller> {
  const prefix = checkPrefix(options.prefix)
  const decoded = decodeKey(key, prefix)
  if (!decoded.ok) {
    throw new AuthError('ERR_INVALID_CREDENTIAL', {
      reason: decoded.reason === 'checksum' ? 'checksum' : 'malformed',
    })
  }
  let record: Awaited<ReturnType<KeyStore['find']>>
  try {
    record = await store.find(decoded.id)
  } catch (cause) {
    throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'store_unavailable', cause })
  }
  if (!record) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'unknown_key' })
  const caller = checkEntry(toEntry(record), decoded.secret, (options.clock ?? systemClock).now())
  if (typeof caller === 'string') throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: caller })
  return caller
}
