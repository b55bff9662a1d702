import { randomBase62 } from './lib/base62.js'
import { hashSecret } from './lib/hash-secret.js'
import { checkPrefix, checksumOf, ID_LENGTH, SECRET_LENGTH } from './lib/key-format.js'

export interface GenerateApiKeyOptions {
  /** 2 to 16 lower-case letters. Default `'csk'`. */
  readonly prefix?: string
}

export interface GeneratedApiKey {
  /** The plaintext key: show it once, never store or log it. */
  readonly key: string
  /** The key id: safe to log and store. */
  readonly id: string
  /** What the store keeps instead of the key: `sha256:<hex>` of the secret. */
  readonly secretHash: string
}

/**
 * A new API key, `<prefix>_<keyId>_<secret><checksum>`: a 12-character base62 id, 43 base62
 * characters (256 bits) of secret from the CSPRNG, and a 6-character CRC-32 checksum over the rest.
 * Nothing is stored: pass `id` and `secretHash` to a {@link KeyStore} (or use `createApiKey`).
 *
 * @example
 * const { key, id, secretHash } = generateApiKey()
 * // key: 'csk_4fZr8Qm1TzAa_…' (66 characters)
 */
export function generateApiKey(options: GenerateApiKeyOptions = {}): GeneratedApiKey {
  const prefix = checkPrefix(options.prefix)
  const id = randomBase62(ID_LENGTH)
  const secret = randomBase62(SECRET_LENGTH)
  return {
    key: `${prefix}_${id}_${secret}${checksumOf(prefix, id, secret)}`,
    id,
    secretHash: hashSecret(secret),
  }
}
