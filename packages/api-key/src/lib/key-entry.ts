import { timingSafeEqual } from 'node:crypto'
import type { Caller } from '@callsign/core'
import type { ApiKeyRecord } from '../api-key-record.js'
import { digestOfHash, secretDigest } from './hash-secret.js'

/** A record prepared for verification: the digest as bytes, times as numbers, the caller built once. */
export interface KeyEntry {
  readonly digest: Buffer
  readonly revoked: boolean
  /** When the key stops working (expiry or end of rotation grace), ms since the epoch. */
  readonly endsAt: number
  readonly endReason: 'expired' | 'rotated'
  readonly caller: Caller
  /**
   * The whole key that last matched the digest. Held in memory only (like a verified token in the
   * JWT verifier's cache), so that the next use of the same key is a constant-time comparison
   * rather than another hash. See {@link sameKey}.
   */
  matched: string | undefined
}

export function toEntry(record: ApiKeyRecord): KeyEntry {
  const expires = record.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(record.expiresAt)
  const grace = record.graceUntil === null ? Number.POSITIVE_INFINITY : Date.parse(record.graceUntil)
  const endsAt = Math.min(expires, grace)
  const caller: Caller = Object.freeze({
    id: record.owner,
    kind: 'api-key' as const,
    scopes: new Set(record.scopes),
    credentialId: record.id,
    ...(Number.isFinite(endsAt) ? { expiresAt: new Date(endsAt) } : {}),
    attributes: Object.freeze({ labels: record.labels }),
  })
  return {
    digest: digestOfHash(record.secretHash),
    revoked: record.state === 'revoked',
    endsAt,
    endReason: grace < expires ? 'rotated' : 'expired',
    caller,
    matched: undefined,
  }
}

/** Why a known key is refused. */
export type KeyRefusal = 'wrong_secret' | 'revoked' | 'expired' | 'rotated'

/**
 * The caller for a secret, or the reason for a 401. The secret is compared first, in constant time,
 * so a wrong secret learns nothing about the key's state.
 */
export function checkEntry(entry: KeyEntry, secret: string, now: number): Caller | KeyRefusal {
  if (!timingSafeEqual(secretDigest(secret), entry.digest)) return 'wrong_secret'
  return checkState(entry, now)
}

/** The caller if the key may be used at `now`, or why not (`revoked`, `expired`, `rotated`). */
export function checkState(entry: KeyEntry, now: number): Caller | KeyRefusal {
  if (entry.revoked) return 'revoked'
  if (now >= entry.endsAt) return entry.endReason
  return entry.caller
}

/**
 * True when `key` is `entry.matched`, compared in constant time for keys of one length (every key
 * of a prefix has the same length): the time taken says nothing about how much of a key matched.
 * It is `timingSafeEqual`'s comparison written over the strings' code units, not a speed trick: the
 * Node function takes buffers, which would have to be copied out of both strings on every request.
 */
export function sameKey(entry: KeyEntry, key: string): boolean {
  const matched = entry.matched
  if (matched === undefined || matched.length !== key.length) return false
  let difference = 0
  for (let i = 0; i < key.length; i++) difference |= key.charCodeAt(i) ^ matched.charCodeAt(i)
  return difference === 0
}
