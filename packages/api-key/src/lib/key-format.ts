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
const SHAPES = new Map<string, RegExp>()

/** The value of one base62 digit, -1 for any other character. */
function digit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 90) return code - 55
  if (code >= 97 && code <= 122) return code - 61
  return -1
}

/**
 * Checks a key's shape without any store: prefix, then length, then alphabet, then checksum.
 * Cheap checks first, so garbage of any size costs a comparison or two.
 */
export function decodeKey(text: string, prefix: string): DecodedKey {
  if (typeof text !== 'string' || !text.startsWith(`${prefix}_`)) return WRONG_PREFIX
  const length = keyLength(prefix)
  if (text.length !== length) return MALFORMED
  let shape = SHAPES.get(prefix)
  if (!shape) {
    shape = new RegExp(
      `^${prefix}_[0-9A-Za-z]{${ID_LENGTH}}_[0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}}$`,
    )
    SHAPES.set(prefix, shape)
  }
  if (!shape.test(text)) return MALFORMED
  const body = length - CHECKSUM_LENGTH
  let sum = 0
  for (let i = body; i < length; i++) sum = sum * 62 + digit(text.charCodeAt(i))
  if (sum !== crc32(text, body)) return CHECKSUM
  const idStart = prefix.length + 1
  return {
    ok: true,
    id: text.slice(idStart, idStart + ID_LENGTH),
    secret: text.slice(idStart + ID_LENGTH + 1, body),
  }
}

/** The prefix option, validated (internal). */
export function checkPrefix(prefix: unknown, where = '"prefix"'): string {
  if (prefix === undefined) return DEFAULT_PREFIX
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(`${where} must be 2 to 16 lower-case letters`)
  }
  return prefix
}
