import { ConfigError } from '@callsign/core'
import { uint32ToBase62 } from './base62.js'
import { crc32 } from './crc32.js'

/** The default key prefix: greppable by secret scanners. */
export const DEFAULT_PREFIX = 'csk'
/** A prefix: 2 to 16 lower-case ASCII letters. */
export const PREFIX_PATTERN = /^[a-z]{2,16}$/
/** Key id length in base62 characters (about 71 bits: unique, not secret). */
export const ID_LENGTH = 12
/** Secret length in base62 characters: 43 × log2(62) ≈ 256.03 bits. */
export const SECRET_LENGTH = 43
/** Checksum length: CRC-32 in base62 (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6
export const KEY_ID_PATTERN = /^[0-9A-Za-z]{12}$/
const BODY = /^[0-9A-Za-z]+$/

export function checksumOf(prefix: string, id: string, secret: string): string {
  return uint32ToBase62(crc32(`${prefix}_${id}_${secret}`), CHECKSUM_LENGTH)
}

export function keyLength(prefix: string): number {
  return prefix.length + 2 + ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH
}

export type DecodedKey =
  | { readonly ok: true; readonly id: string; readonly secret: string }
  | { readonly ok: false; readonly reason: 'wrong_prefix' | 'malformed' | 'checksum' }

const WRONG_PREFIX = { ok: false, reason: 'wrong_prefix' } as const
const MALFORMED = { ok: false, reason: 'malformed' } as const
const CHECKSUM = { ok: false, reason: 'checksum' } as const

/**
 * Checks a key's shape without any store: prefix, then length, then alphabet, then checksum.
 * Cheap checks first, so garbage of any size costs a comparison or two.
 */
export function decodeKey(text: string, prefix: string): DecodedKey {
  if (typeof text !== 'string' || !text.startsWith(`${prefix}_`)) return WRONG_PREFIX
  if (text.length !== keyLength(prefix)) return MALFORMED
  const idStart = prefix.length + 1
  const secretStart = idStart + ID_LENGTH + 1
  if (text.charCodeAt(secretStart - 1) !== 95 /* _ */) return MALFORMED
  const id = text.slice(idStart, secretStart - 1)
  const rest = text.slice(secretStart)
  if (!BODY.test(id) || !BODY.test(rest)) return MALFORMED
  const secret = rest.slice(0, SECRET_LENGTH)
  if (rest.slice(SECRET_LENGTH) !== checksumOf(prefix, id, secret)) return CHECKSUM
  return { ok: true, id, secret }
}

/** The prefix option, validated (internal). */
export function checkPrefix(prefix: unknown, where = 'prefix'): string {
  if (prefix === undefined) return DEFAULT_PREFIX
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(`"${where}" must be 2 to 16 lower-case letters`)
  }
  return prefix
}
