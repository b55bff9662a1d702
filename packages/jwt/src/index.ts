export { createKeyDir } from './create-key-dir.js'
export {
  generateSigningKey,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  type SigningKey,
} from './generate-signing-key.js'
export {
  type JwtKeyCacheOptions,
  type JwtStaticKeys,
  type JwtVerifier,
  type JwtVerifierHealth,
  type JwtVerifierOptions,
  jwtVerifier,
  type KeySourceHealth,
  type ReplayStore,
} from './jwt-verifier.js'
export { type MintKey, type MintTokenOptions, mintToken } from './mint-token.js'
export { type KeyDir, keyDirWatchFiles, readKeyDir } from './read-key-dir.js'
export { readKeyDirJwks } from './read-key-dir-jwks.js'
export { type RotateKeyDirOptions, rotateKeyDir } from './rotate-key-dir.js'
