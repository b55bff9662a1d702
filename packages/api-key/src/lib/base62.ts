import { randomBytes } from 'node:crypto'

/** The base62 alphabet: digits, upper case, lower case (ASCII order). */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * `length` characters drawn uniformly from the base62 alphabet with the CSPRNG. Bytes of 248 and
 * above are rejected (248 = 4 × 62), so there is no modulo bias: each character carries log2(62) bits.
 */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length + 8)) {
      if (byte >= 248) continue
      out += BASE62[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

/** An unsigned 32-bit number as exactly `width` base62 digits, most significant first. */
export function uint32ToBase62(value: number, width: number): string {
  let n = value >>> 0
  let out = ''
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}
