export { apiKeyCredentials } from './api-key-credentials.js'
export { ClientError, type ClientErrorCode, type ClientErrorOptions } from './client-error.js'
export type { Credentials } from './credentials.js'
export { envSecret } from './env-secret.js'
export { type FileSecretOptions, fileSecret } from './file-secret.js'
export { type MtlsAgent, type MtlsAgentOptions, mtlsAgent } from './mtls-agent.js'
export { type PrivateKeyJwt, type PrivateKeyJwtOptions, privateKeyJwt } from './private-key-jwt.js'
export type { SecretSource } from './secret-source.js'
export {
  type TokenCredentialsOptions,
  type TokenRefreshOptions,
  tokenCredentials,
} from './token-credentials.js'
export {
  type FetchLike,
  type ResponseLike,
  type WithCredentialsOptions,
  withCredentials,
} from './with-credentials.js'
