import { type KeyObject, randomUUID } from 'node:crypto'
import { type Clock, ConfigError, systemClock } from '@callsign/core'
import { SignJWT } from 'jose'

/** The key a token is signed with: a {@link SigningKey}, or a shared secret for HMAC mode. */
export type MintKey =
  | { readonly alg: string; readonly privateKey: KeyObject; readonly kid?: string }
  | { readonly alg: 'HS256' | 'HS384' | 'HS512'; readonly secret: Uint8Array; readonly kid?: string }

export interface MintTokenOptions {
  readonly key: MintKey
  readonly issuer: string
  readonly subject: string
  readonly audience: string | readonly string[]
  /** Written as the space-delimited `scope` claim. */
  readonly scopes: readonly string[]
  /** Lifetime in seconds (`exp - iat`), 1 to 86400. */
  readonly ttl: number
  /** `jti`; default a random UUID. `false` leaves it out. */
  readonly jti?: string | false
  /** Seconds from now before which the token is not valid (`nbf`). Default: no `nbf`. */
  readonly notBefore?: number
  /** Header `typ`, e.g. `'at+jwt'`. Default `'JWT'`. */
  readonly typ?: string
  /** Binds the token to a client certificate (RFC 8705): base64url SHA-256 of its DER. */
  readonly certificateThumbprint?: string
  /** More claims; registered ones (iss, sub, aud, exp, iat, nbf, jti, scope, cnf) cannot be set here. */
  readonly claims?: Readonly<Record<string, unknown>>
  readonly clock?: Clock
}

const REGISTERED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'scope', 'cnf'])

const fail = (message: string): never => {
  throw new ConfigError(`mintToken: ${message}`)
}

/**
 * Signs a short-lived JWT with `iss`, `sub`, `aud`, `iat`, `exp`, `jti` and `scope`, for issuers
 * and tests.
 *
 * @example
 * const { current } = await readKeyDir('./keys')
 * const token = await mintToken({
 *   key: current, issuer: 'https://issuer.internal', subject: 'billing',
 *   audience: 'orders', scopes: ['orders:read'], ttl: 300,
 * })
 */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const { key, issuer, subject, audience, scopes, ttl } = options
  if (typeof key !== 'object' || key === null || typeof key.alg !== 'string')
    fail('"key" must be a signing key')
  if (typeof issuer !== 'string' || issuer.length === 0) fail('"issuer" must be a non-empty string')
  if (typeof subject !== 'string' || subject.length === 0) fail('"subject" must be a non-empty string')
  const audiences = typeof audience === 'string' ? [audience] : audience
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((a) => typeof a !== 'string' || a === '')
  ) {
    fail('"audience" must be a non-empty string or list of strings')
  }
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string' || !/^\S+$/.test(scope))) {
    fail('"scopes" must be a list of scopes without spaces')
  }
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > 86_400)
    fail('"ttl" must be an integer number of seconds from 1 to 86400')
  const extra = options.claims ?? {}
  for (const name of Object.keys(extra))
    if (REGISTERED.has(name)) fail(`"claims" may not set the registered claim "${name}"`)

  const now = Math.floor((options.clock ?? systemClock).now() / 1000)
  const payload: Record<string, unknown> = { ...extra, scope: scopes.join(' ') }
  if (options.certificateThumbprint !== undefined) payload.cnf = { 'x5t#S256': options.certificateThumbprint }
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: options.typ ?? 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
    .setIssuer(issuer)
    .setSubject(subject)
    .setAudience(audiences.length === 1 ? (audiences[0] as string) : [...audiences])
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
  if (options.jti !== false) jwt.setJti(options.jti ?? randomUUID())
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore)
  return jwt.sign('secret' in key ? key.secret : key.privateKey)
}
