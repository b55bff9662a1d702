import * as crypto from 'node:crypto'

/** The stored form of a secret's hash: `sha256:` and 64 lower-case hex digits. */
export const SECRET_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/

/** Node's one-shot `crypto.hash` (20.12 and later): no Hash object per call. */
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined

/**
 * SHA-256 of the secret: enough for a 256-bit random secret (no salt or stretching needed). Keys
 * are base62, so the latin1 bytes hashed before are the UTF-8 bytes the one-shot hash reads; any
 * other text takes the streaming path, byte for byte as before.
 */
export function secretDigest(secret: string): Buffer {
  if (oneShot !== undefined && PRINTABLE_ASCII.test(secret)) return oneShot('sha256', secret, 'buffer')
  return crypto.createHash('sha256').update(secret, 'latin1').digest()
}

const PRINTABLE_ASCII = /^[ -~]*$/

export function hashSecret(secret: string): string {
  return `sha256:${secretDigest(secret).toString('hex')}`
}

/** The 32-byte digest of a stored `sha256:<hex>` hash. */
export function digestOfHash(secretHash: string): Buffer {
  return Buffer.from(secretHash.slice(7), 'hex')
}
