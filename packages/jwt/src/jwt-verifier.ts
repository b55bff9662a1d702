import { createHash, type KeyObject } from 'node:crypto'
import {
  type AuthRequest,
  type Caller,
  type Clock,
  ConfigError,
  type HealthStatus,
  type Logger,
  type TlsPeer,
  type Verifier,
} from '@callsign/core'
import { bearerToken, certificateThumbprint, checkLogger } from '@callsign/core/adapter'
import type { JWK } from 'jose'
import { verifySignature } from './lib/algorithms.js'
import { checkClaims } from './lib/claims.js'
import { discoveryLoader, discoveryUrl } from './lib/discovery-loader.js'
import { invalid } from './lib/fail.js'
import { fetchJson } from './lib/fetch-json.js'
import { importConfiguredKey, importSecret, type KeyRecord, KeySet } from './lib/key-set.js'
import { type KeySetTelemetry, keySetTelemetry } from './lib/key-set-telemetry.js'
import type { KeySource, KeySourceHealth } from './lib/key-source.js'
import { type ParsedToken, parseToken } from './lib/parse-token.js'
import { refusalHints } from './lib/refusal-hints.js'
import { RemoteKeySet } from './lib/remote-key-set.js'
import { ReplayGuard } from './lib/replay-guard.js'
import { normalizeTyp, resolveOptions } from './lib/resolve-options.js'
import { staticKeySource } from './lib/static-key-source.js'
import { TokenCache } from './lib/token-cache.js'
import type { ReplayStore } from './replay-store.js'

export type { KeySourceHealth } from './lib/key-source.js'
export type { ReplayStore } from './replay-store.js'

export interface JwtKeyCacheOptions {
  /** Seconds a fetched key set is fresh. Default 600. */
  readonly maxAge?: number
  /** Refresh in the background this many seconds before the set goes stale. Default min(60, maxAge/5). */
  readonly refreshAhead?: number
  /** Seconds past `maxAge` the last good set is still used while the issuer fails. Default 3600, at most 86400. */
  readonly staleIfError?: number
  /** Minimum seconds between fetches caused by unknown kids or failures. Default 30. */
  readonly unknownKidCooldown?: number
  /** Seconds a fetch may take, headers and body. Default 5. */
  readonly timeout?: number
  /** Largest JWKS or discovery document accepted, in bytes. Default 256 KiB. */
  readonly maxResponseBytes?: number
}

/** The static keys of one issuer: JWKs or KeyObjects, or a JWKS object. */
export type JwtStaticKeys = readonly (JWK | KeyObject)[] | { readonly keys: readonly JWK[] }

export interface JwtVerifierOptions {
  /** The accepted issuers (`iss`), compared exactly. Each has its own key cache. */
  readonly issuer: string | readonly string[]
  /** Our audience(s): the token's `aud` must contain one of them. */
  readonly audience: string | readonly string[]
  /**
   * Static public keys: JWKs, a JWKS object, or KeyObjects; with several issuers, a map of each
   * issuer to its own keys (`{ [issuer]: keys }`), as a key verifies only its own issuer's tokens.
   */
  readonly keys?: JwtStaticKeys | Readonly<Record<string, JwtStaticKeys>>
  /** A JWKS URL, or one per issuer. https only, except on loopback. */
  readonly jwksUri?: string | Readonly<Record<string, string>>
  /** Find each issuer's `jwks_uri` through OIDC discovery (`<issuer>/.well-known/openid-configuration`). */
  readonly discovery?: boolean
  /** Shared-secret mode (HMAC), at least 32 bytes. Never mixed with asymmetric keys. */
  readonly secret?: Uint8Array | KeyObject
  /** Accepted `alg` values. Default ES256, EdDSA, RS256, PS256 (HS256 in secret mode). */
  readonly algorithms?: readonly string[]
  /** Longest accepted lifetime (`exp - iat`) in seconds. Default 900. */
  readonly maxLifetime?: number
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. Default 5, at most 60. */
  readonly clockTolerance?: number
  /** The claim holding the scopes. Default `scope` (space-delimited), else `scp` (array). */
  readonly scopeClaim?: string
  /** The claim naming the caller. Default `sub`. */
  readonly subjectClaim?: string
  /** Required header `typ`, e.g. `'at+jwt'` (RFC 9068). Default: not checked. */
  readonly typ?: string
  /** Longest accepted token, in characters. Default 8192. */
  readonly maxTokenBytes?: number
  readonly keyCache?: JwtKeyCacheOptions
  /** Cache of verified tokens. Default { maxEntries: 10000 }; `false` turns it off. */
  readonly tokenCache?: false | { readonly maxEntries?: number }
  /**
   * Accept each `jti` once (one-time tokens). Default off; `true` is { maxEntries: 100000 } in this
   * process; `{ store }` records uses in a {@link ReplayStore} shared by every replica.
   */
  readonly replayProtection?: boolean | { readonly maxEntries?: number } | { readonly store: ReplayStore }
  readonly clock?: Clock
  /** Where the once-per-issuer refusal hints go: a pino-compatible logger. Default: process warnings. */
  readonly logger?: Logger
}

export interface JwtVerifierHealth {
  /** For `pipeline.health()`: `ok` when every key set is fresh, `degraded` when one is stale. */
  readonly status: HealthStatus
  /** The worst state of any issuer's keys. */
  readonly state: 'fresh' | 'stale' | 'failing'
  readonly issuers: readonly KeySourceHealth[]
  readonly tokenCache: { readonly size: number; readonly hits: number; readonly misses: number } | null
}

export interface JwtVerifier extends Verifier {
  readonly kind: 'jwt'
  /** Verifies a token without a request, e.g. from a CLI or a gRPC interceptor. */
  verifyToken(token: string, tls?: TlsPeer): Promise<Caller>
  /** Fetches every issuer's keys now; resolves when done (failures show in {@link health}). */
  warmUp(): Promise<JwtVerifierHealth>
  /** A snapshot for a health endpoint: per issuer, fresh, stale or failing, and the age of the keys. */
  health(): JwtVerifierHealth
}

const EMBEDDED_KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const
const STATE_ORDER = { fresh: 0, stale: 1, failing: 2 } as const
const STATUS_OF = { fresh: 'ok', stale: 'degraded', failing: 'failing' } as const

/**
 * A verifier for short-lived JWT bearer tokens (`Authorization: Bearer <jwt>`): asymmetric
 * algorithms from an allow-list, keys from static JWKs, a JWKS URL or OIDC discovery (never from
 * the token), required `iss`, `aud`, `exp`, `iat`, `sub`, a maximum lifetime, and RFC 8705
 * certificate binding. A bearer value that is not JWT-shaped is not its kind (null).
 *
 * @example
 * const jwt = jwtVerifier({
 *   issuer: 'https://issuer.internal',
 *   audience: 'orders',
 *   jwksUri: 'https://issuer.internal/.well-known/jwks.json',
 * })
 * await jwt.warmUp()
 * const pipeline = createPipeline({ policy, verifiers: [jwt] })
 */
export function jwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const config = resolveOptions(options)
  const { clock, rules } = config
  const tokenCache = config.tokenCacheEntries > 0 ? new TokenCache(config.tokenCacheEntries) : undefined
  const replay = config.replayEntries > 0 ? new ReplayGuard(config.replayEntries) : undefined
  const replayStore = config.replayStore
  const replayOn = replay !== undefined || replayStore !== undefined
  /** Records a token's one use: at once in memory (throws on a replay), or a promise with a shared store. */
  const useOnce = (key: string, untilMs: number): Promise<void> | undefined => {
    if (replayStore === undefined) {
      replay?.use(key, untilMs, clock.now())
      return undefined
    }
    return Promise.resolve()
      .then(() => replayStore.claim(key, untilMs, clock.now()))
      .then(
        (first) => {
          if (first !== true) throw invalid('replayed')
        },
        (cause: unknown) => {
          throw invalid('replay_store_unavailable', cause)
        },
      )
  }
  const onRetired = (records: readonly KeyRecord[]) => tokenCache?.evict(records)
  const telemetry = keySetTelemetry(() => [...sources.values()].map((source) => source.health()))
  const sources = buildSources(config, onRetired, telemetry)
  const explainRefusal = refusalHints(rules.maxLifetime, checkLogger(options.logger, 'jwtVerifier'))

  const warmUp = async (): Promise<JwtVerifierHealth> => {
    await Promise.all([...new Set(sources.values())].map((source) => source.warmUp()))
    return health()
  }
  const health = (): JwtVerifierHealth => {
    const issuers = [...sources.values()].map((source) => source.health())
    const worst = issuers.reduce<'fresh' | 'stale' | 'failing'>(
      (state, entry) => (STATE_ORDER[entry.state] > STATE_ORDER[state] ? entry.state : state),
      'fresh',
    )
    return {
      status: STATUS_OF[worst],
      state: worst,
      issuers,
      tokenCache: tokenCache
        ? { size: tokenCache.size, hits: tokenCache.hits, misses: tokenCache.misses }
        : null,
    }
  }

  const certificateDigests = new WeakMap<object, string>()
  const checkBinding = (x5t: string | undefined, tls: TlsPeer | undefined) => {
    if (x5t === undefined) return
    if (tls?.authorized !== true) throw invalid('certificate_binding')
    let digest = certificateDigests.get(tls.connection)
    if (digest === undefined) {
      const leaf = tls.peerCertificateChain()[0]
      if (!leaf) throw invalid('certificate_binding')
      digest = certificateThumbprint(leaf)
      certificateDigests.set(tls.connection, digest)
    }
    if (digest !== x5t) throw invalid('certificate_binding')
  }

  /** The caller of a token verified before, if it is in the token cache and still valid. */
  const cachedCaller = (token: string, tls: TlsPeer | undefined): Caller | Promise<Caller> | undefined => {
    if (tokenCache === undefined) return undefined
    const nowMs = clock.now()
    const cached = tokenCache.get(token, nowMs / 1000, rules.clockTolerance)
    if (cached === undefined) return undefined
    checkBinding(cached.x5t, tls)
    if (replayOn && cached.replayKey) {
      const used = useOnce(cached.replayKey, (cached.exp + rules.clockTolerance) * 1000)
      if (used) return used.then(() => cached.caller)
    }
    return cached.caller
  }

  /**
   * The caller for a parsed token not in the cache: synchronous when its key is at hand, a promise
   * when the key must be fetched first.
   */
  const verifyParsed = (
    token: string,
    tls: TlsPeer | undefined,
    parsed: ParsedToken,
  ): Caller | Promise<Caller> => {
    const { header, payload } = parsed
    const alg = header.alg
    if (typeof alg !== 'string' || !config.algorithms.has(alg)) throw invalid('alg_not_allowed')
    for (const name of EMBEDDED_KEY_HEADERS) if (header[name] !== undefined) throw invalid('embedded_key')
    if (header.crit !== undefined || header.b64 !== undefined) throw invalid('unsupported_crit')
    const kid = header.kid
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
      throw invalid('malformed')
    }
    if (
      config.typ !== undefined &&
      (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== config.typ)
    ) {
      throw invalid('wrong_type')
    }
    const iss = payload.iss
    if (iss === undefined) throw invalid('missing_claim')
    const source = typeof iss === 'string' ? sources.get(iss) : undefined
    if (!source) throw invalid('wrong_issuer')

    const record = source.keyAtHand(kid, alg)
    if (record !== undefined) return checkSigned(token, tls, parsed, alg, record, source)
    return source.getKey(kid, alg).then((fetched) => checkSigned(token, tls, parsed, alg, fetched, source))
  }

  /** The signature, the claims, the binding and replay; then the caller, cached. */
  const checkSigned = (
    token: string,
    tls: TlsPeer | undefined,
    { payload, signingInput, signature }: ParsedToken,
    alg: string,
    record: KeyRecord,
    source: KeySource,
  ): Caller | Promise<Caller> => {
    if (!verifySignature(alg, record.key, signingInput, signature)) throw invalid('bad_signature')
    let claims: ReturnType<typeof checkClaims>
    try {
      claims = checkClaims(payload, rules, clock.now() / 1000)
    } catch (error) {
      explainRefusal(payload, error)
      throw error
    }
    checkBinding(claims.x5t, tls)
    let replayKey: string | undefined
    let used: Promise<void> | undefined
    if (replayOn) {
      if (claims.jti === undefined) throw invalid('missing_claim')
      replayKey = `${payload.iss}\n${claims.jti}`
      used = useOnce(replayKey, (claims.exp + rules.clockTolerance) * 1000)
    }
    const caller: Caller = Object.freeze({
      id: claims.subject,
      kind: 'jwt' as const,
      scopes: new Set(claims.scopes),
      credentialId: claims.jti ?? `sha256:${createHash('sha256').update(token).digest('base64url')}`,
      expiresAt: new Date(claims.exp * 1000),
      ...(claims.x5t === undefined ? {} : { boundCertificate: claims.x5t }),
      attributes: Object.freeze(payload), // parsed for this token alone: nothing else holds it
    })
    tokenCache?.admit({
      token,
      caller,
      exp: claims.exp,
      nbf: claims.nbf,
      record,
      source,
      x5t: claims.x5t,
      replayKey,
    })
    return used ? used.then(() => caller) : caller
  }

  const verifyToken = async (token: string, tls?: TlsPeer): Promise<Caller> => {
    if (typeof token !== 'string') throw invalid('malformed')
    const cached = cachedCaller(token, tls)
    if (cached !== undefined) return cached
    const parsed = parseToken(token, config.maxTokenBytes)
    if (parsed === null) throw invalid('malformed')
    return verifyParsed(token, tls, parsed)
  }

  void warmUp().catch(() => {})

  return {
    kind: 'jwt',
    // Synchronous for a cached token or a key at hand; a key still to be fetched makes it a promise.
    verify(req: AuthRequest) {
      const token = bearerToken(req)
      // Not a JWT at all (an API key, say): not ours, and not a token-cache miss either.
      if (token === null || token.indexOf('.') <= 0) return null
      // A cached token is exactly a string that passed every check below before.
      const cached = cachedCaller(token, req.tls)
      if (cached !== undefined) return cached
      const parsed = parseToken(token, config.maxTokenBytes)
      if (parsed === null) return null
      return verifyParsed(token, req.tls, parsed)
    },
    verifyToken,
    warmUp,
    health,
  }
}

function buildSources(
  config: ReturnType<typeof resolveOptions>,
  onRetired: (records: readonly KeyRecord[]) => void,
  telemetry: KeySetTelemetry,
): Map<string, KeySource> {
  const sources = new Map<string, KeySource>()
  const { mode, algorithms, clock, cache } = config
  const fetchOptions = { timeoutMs: cache.timeoutMs, maxBytes: cache.maxBytes }
  if (mode.kind === 'secret') {
    const record = importSecret(mode.secret, algorithms)
    if (record === null) {
      throw new ConfigError(
        'jwtVerifier: "secret" must be a Uint8Array or secret KeyObject long enough for the HMAC algorithm (32 bytes for HS256)',
      )
    }
    const issuer = config.issuers[0] as string
    sources.set(issuer, staticKeySource(issuer, new KeySet([record]), 'secret'))
    return sources
  }
  if (mode.kind === 'keys') {
    // One key set per issuer, so a key listed for one issuer never verifies another's tokens.
    const several = mode.keys.size > 1
    for (const [issuer, keys] of mode.keys) {
      const records = keys.map((key, index) => {
        const record = importConfiguredKey(key, algorithms)
        if (record === null) {
          const name = several ? `"keys"[${JSON.stringify(issuer)}][${index}]` : `"keys"[${index}]`
          throw new ConfigError(`jwtVerifier: ${name} is not a usable public key for the allowed algorithms`)
        }
        return record
      })
      sources.set(issuer, staticKeySource(issuer, new KeySet(records), 'static'))
    }
    return sources
  }
  for (const issuer of config.issuers) {
    const url = mode.kind === 'jwks' ? (mode.uris.get(issuer) as string) : discoveryUrl(issuer)
    const load =
      mode.kind === 'jwks'
        ? () => fetchJson(url, fetchOptions)
        : discoveryLoader(issuer, fetchOptions, clock, Math.max(cache.maxAge, 3600))
    sources.set(
      issuer,
      new RemoteKeySet({
        issuer,
        source: mode.kind,
        url,
        load,
        clock,
        settings: cache,
        allowed: algorithms,
        onRetired,
        telemetry,
      }),
    )
  }
  return sources
}
