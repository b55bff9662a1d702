export type { ApiKeyRecord, KeyStore, KeyStoreHealth } from './api-key-record.js'
export { type ApiKeyVerifierOptions, apiKeyVerifier } from './api-key-verifier.js'
export { checkKeyRecord } from './check-key-record.js'
export {
  type CreateApiKeyOptions,
  type CreatedApiKey,
  createApiKey,
  DEFAULT_KEY_LIFETIME_MS,
} from './create-api-key.js'
export { type FileKeyStore, type FileKeyStoreOptions, fileKeyStore } from './file-key-store.js'
export { type GenerateApiKeyOptions, type GeneratedApiKey, generateApiKey } from './generate-api-key.js'
export { KeyStoreError, type KeyStoreErrorCode } from './key-store-error.js'
export { type ParseApiKeyOptions, type ParsedApiKey, parseApiKey } from './parse-api-key.js'
export {
  DEFAULT_ROTATION_GRACE_MS,
  type RotateApiKeyOptions,
  type RotatedApiKey,
  rotateApiKey,
} from './rotate-api-key.js'
export { type VerifyApiKeyOptions, verifyApiKey } from './verify-api-key.js'
