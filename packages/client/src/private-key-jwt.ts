import { constants, createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { type Clock, ConfigError, systemClock } from '@callsign/core'

/**
 * Options of {@link privateKeyJwt}.
 *
 * @example
 * privateKeyJwt({ clientId: 'billing', keyFile: '/run/secrets/billing.key.pem' })
 */
export interface PrivateKeyJwtOptions {
  /** The client id registered at the issuer: the assertion's `iss` and `sub`. */
  readonly clientId: string
  /**
   * The private key: a PEM file (PKCS #8, SEC1 or PKCS #1) or a private JWK (JSON). Read now and at
   * each assertion, so a rotated file is picked up; a file that cannot be read keeps the last key.
   */
  readonly keyFile: string
  /** The `kid` header. Default: the JWK's `kid`, else none (the issuer tries each registered key). */
  readonly kid?: string
  /** `PS256` instead of `RS256` for an RSA key. Default by key type: ES256, EdDSA or RS256. */
  readonly algorithm?: 'PS256'
  readonly clock?: Clock
}

/**
 * How a service authenticates to a token endpoint with `private_key_jwt` (RFC 7523 §2.2): each token
 * request carries a fresh JWT assertion signed with the service's own key (`iss` = `sub` = client id,
 * `aud` = the token endpoint, one minute of life, a random `jti`). No secret travels. Give it as
 * `client` to {@link tokenCredentials}.
 */
export interface PrivateKeyJwt {
  readonly kind: 'private_key_jwt'
  readonly clientId: string
  /** A new signed assertion for this token endpoint. */
  assertion(tokenEndpoint: string): string
}

const CLIENT_ID = /^[\x21-\x7e]{1,256}$/
const LIFETIME_S = 60

/**
 * Signs client assertions from a key file, for {@link tokenCredentials}.
 *
 * @example
 * const tokens = tokenCredentials({
 *   tokenUrl: 'https://issuer.internal/oauth2/token',
 *   client: privateKeyJwt({ clientId: 'billing', keyFile: '/run/secrets/billing.key.pem' }),
 *   audience: 'orders',
 * })
 */
export function privateKeyJwt(options: PrivateKeyJwtOptions): PrivateKeyJwt {
  const where = 'privateKeyJwt'
  if (typeof options?.clientId !== 'string' || !CLIENT_ID.test(options.clientId)) {
    throw new ConfigError(`${where}: "clientId" must be 1 to 256 visible ASCII characters`)
  }
  if (typeof options.keyFile !== 'string' || options.keyFile.length === 0) {
    throw new ConfigError(`${where}: "keyFile" must be the path of a private key (PEM or JWK)`)
  }
  if (options.algorithm !== undefined && options.algorithm !== 'PS256') {
    throw new ConfigError(`${where}: "algorithm" can only be "PS256" (for an RSA key)`)
  }
  const { clientId, keyFile } = options
  const clock = options.clock ?? systemClock
  let current: SigningKey
  try {
    current = readSigningKey(keyFile, options)
  } catch (cause) {
    throw new ConfigError(`${where}: "keyFile" ${JSON.stringify(keyFile)}: ${(cause as Error).message}`, {
      cause,
    })
  }

  return Object.freeze({
    kind: 'private_key_jwt' as const,
    clientId,
    assertion(tokenEndpoint: string) {
      try {
        current = readSigningKey(keyFile, options)
      } catch (error) {
        process.emitWarning(`${where}: ${(error as Error).message}; keeping the last good key`, {
          code: 'CALLSIGN_CLIENT_KEY_RELOAD',
        })
      }
      const now = Math.floor(clock.now() / 1000)
      const header = { alg: current.alg, typ: 'JWT', ...(current.kid ? { kid: current.kid } : {}) }
      const claims = {
        iss: clientId,
        sub: clientId,
        aud: tokenEndpoint,
        iat: now,
        exp: now + LIFETIME_S,
        jti: randomUUID(),
      }
      const input = `${base64url(header)}.${base64url(claims)}`
      return `${input}.${current.sign(Buffer.from(input)).toString('base64url')}`
    },
    toJSON: () => ({ kind: 'private_key_jwt', clientId }),
    [inspect.custom]: () => `PrivateKeyJwt { clientId: ${inspect(clientId)} }`,
  })
}

interface SigningKey {
  readonly alg: string
  readonly kid: string | undefined
  sign(data: Buffer): Buffer
}

function readSigningKey(file: string, options: PrivateKeyJwtOptions): SigningKey {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new Error('cannot be read')
  }
  let key: KeyObject
  let kid = options.kid
  try {
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as { kid?: unknown }
      key = createPrivateKey({ key: jwk as never, format: 'jwk' })
      if (kid === undefined && typeof jwk.kid === 'string') kid = jwk.kid
    } else {
      key = createPrivateKey(text)
    }
  } catch {
    throw new Error('is not a private key (PEM or JWK)')
  }
  const type = key.asymmetricKeyType
  const curve = key.asymmetricKeyDetails?.namedCurve
  if (type === 'ec' && curve === 'prime256v1') {
    return { alg: 'ES256', kid, sign: (data) => sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) }
  }
  if (type === 'ed25519') return { alg: 'EdDSA', kid, sign: (data) => sign(null, data, key) }
  if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) {
    if (options.algorithm === 'PS256') {
      return {
        alg: 'PS256',
        kid,
        sign: (data) =>
          sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      }
    }
    return { alg: 'RS256', kid, sign: (data) => sign('sha256', data, key) }
  }
  throw new Error('is not an EC P-256, Ed25519 or RSA (2048 bits or more) key')
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
