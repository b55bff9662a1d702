import { createHash } from 'node:crypto'

/** The stored form of a secret's hash: `sha256:` and 64 lower-case hex digits. */
export const SECRET_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/

/** SHA-256 of the secret: enough for a 256-bit random secret (no salt or stretching needed). */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'latin1').digest()
}

export function hashSecret(secret: string): string {
  return `sha256:${secretDigest(secret).toString('hex')}`
}

/** The 32-byte digest of a stored `sha256:<hex>` hash. */
export function digestOfHash(secretHash: string): Buffer {
  return Buffer.from(secretHash.slice(7), 'hex')
}
