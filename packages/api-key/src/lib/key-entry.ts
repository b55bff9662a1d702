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
  }
}

/**
 * The caller for a secret, or the reason for a 401. The secret is compared first, in constant time,
 * so a wrong secret learns nothing about the key's state.
 */
export function checkEntry(entry: KeyEntry, secret: string, now: number): Caller | string {
  if (!timingSafeEqual(secretDigest(secret), entry.digest)) return 'wrong_secret'
  if (entry.revoked) return 'revoked'
  if (now >= entry.endsAt) return entry.endReason
  return entry.caller
}
