import { fileKeyStore, type KeyStore } from '@callsign/api-key'
import { postgresKeyStore } from '@callsign/store-postgres'

/**
 * The key store at `location` (KEY_STORE): a `postgres://` URL is the PostgreSQL store shared by
 * replicas (its tables made beforehand by `callsign store migrate`), anything else a file store.
 */
export function openKeyStore(location: string): KeyStore & { close(): void | Promise<void> } {
  return /^postgres(?:ql)?:\/\//.test(location) ? postgresKeyStore(location) : fileKeyStore(location)
}
