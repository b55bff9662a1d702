import { AuthError } from '@callsign/core'
import { hashSecret } from './lib/hash-secret.js'
import { checkPrefix, decodeKey } from './lib/key-format.js'

export interface ParseApiKeyOptions {
  /** The expected prefix. Default `'csk'`. */
  readonly prefix?: string
}

export interface ParsedApiKey {
  readonly prefix: string
  /** The key id, for a store lookup or a log line. */
  readonly id: string
  /** `sha256:<hex>` of the secret, as a store keeps it. The secret itself is not returned. */
  readonly secretHash: string
}

/**
 * Checks a key's format without touching any store: prefix, length, alphabet, checksum. Throws
 * `AuthError('ERR_INVALID_CREDENTIAL')` with reason `wrong_prefix`, `malformed` or `checksum`.
 *
 * @example
 * const { id } = parseApiKey(leakedKey) // then: callsign keys revoke <id>
 */
export function parseApiKey(key: string, options: ParseApiKeyOptions = {}): ParsedApiKey {
  const prefix = checkPrefix(options.prefix)
  const decoded = decodeKey(key, prefix)
  if (!decoded.ok) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: decoded.reason })
  return { prefix, id: decoded.id, secretHash: hashSecret(decoded.secret) }
}
