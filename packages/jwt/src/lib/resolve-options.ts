import { KeyObject } from 'node:crypto'
import { type Clock, ConfigError, systemClock } from '@callsign/core'
import type { JwtVerifierOptions } from '../jwt-verifier.js'
import type { ReplayStore } from '../replay-store.js'
import {
  DEFAULT_ALGORITHMS,
  DEFAULT_HMAC_ALGORITHMS,
  isHmacAlgorithm,
  isKnownAlgorithm,
} from './algorithms.js'
import type { ClaimRules } from './claims.js'
import { isSecureUrl } from './fetch-json.js'
import type { KeyCacheSettings } from './remote-key-set.js'

export interface ResolvedOptions {
  readonly issuers: readonly string[]
  readonly rules: ClaimRules
  readonly algorithms: ReadonlySet<string>
  /** Where keys come from; static `keys` are per issuer: a key verifies only its own issuer's tokens. */
  readonly mode:
    | { readonly kind: 'keys'; readonly keys: ReadonlyMap<string, readonly unknown[]> }
    | { readonly kind: 'secret'; readonly secret: unknown }
    | { readonly kind: 'jwks'; readonly uris: ReadonlyMap<string, string> }
    | { readonly kind: 'discovery' }
  readonly typ: string | undefined
  readonly maxTokenBytes: number
  readonly cache: KeyCacheSettings
  readonly tokenCacheEntries: number
  readonly replayEntries: number
  /** A shared replay store, instead of the in-memory one. */
  readonly replayStore: ReplayStore | undefined
  readonly clock: Clock
}

const fail = (message: string): never => {
  throw new ConfigError(`jwtVerifier: ${message}`)
}

function seconds(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(`"${name}" must be a number of seconds from ${min} to ${max}`)
  }
  return value as number
}

function count(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    fail(`"${name}" must be an integer from ${min} to ${max}`)
  }
  return value as number
}

function stringList(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0)
    fail(`"${name}" must be a non-empty string or list of strings`)
  for (const entry of list as unknown[]) {
    if (typeof entry !== 'string' || entry.length === 0) fail(`"${name}" must contain non-empty strings only`)
  }
  return [...new Set(list as string[])]
}

function claimName(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(value) || value === '__proto__') {
    fail(`"${name}" must be a claim name`)
  }
  return value as string
}

/** A list of keys or a JWKS object, as its list; undefined when it is neither or empty. */
function keyList(value: unknown): unknown[] | undefined {
  const list = Array.isArray(value) ? value : (value as { keys?: unknown } | null)?.keys
  return Array.isArray(list) && list.length > 0 ? list : undefined
}

/**
 * The static keys of each issuer. A list or a JWKS belongs to the only issuer; with several issuers,
 * `keys` must map each one to its own keys, so a key never verifies a token of another issuer.
 */
function keysByIssuer(value: unknown, issuers: readonly string[]): Map<string, unknown[]> {
  const keys = new Map<string, unknown[]>()
  // An object with a `keys` list is a JWKS, unless an issuer is named "keys": then it is a map.
  const isList =
    Array.isArray(value) ||
    (Array.isArray((value as { keys?: unknown } | null)?.keys) && !issuers.includes('keys'))
  if (isList) {
    if (issuers.length !== 1) {
      fail('"keys" must map each issuer to its own keys when there are several issuers: { [issuer]: keys }')
    }
    const list = keyList(value)
    if (list === undefined) fail('"keys" must be a non-empty list of keys or a JWKS')
    keys.set(issuers[0] as string, list as unknown[])
    return keys
  }
  if (typeof value !== 'object' || value === null || value instanceof KeyObject) {
    fail('"keys" must be a list of keys, a JWKS, or a map of issuer to keys')
  }
  for (const name of Object.keys(value as object)) {
    if (!issuers.includes(name)) fail(`"keys" names ${JSON.stringify(name)}, which is not in "issuer"`)
  }
  for (const issuer of issuers) {
    const list = Object.hasOwn(value as object, issuer)
      ? keyList((value as Record<string, unknown>)[issuer])
      : undefined
    if (list === undefined) {
      fail(`"keys" has no list of keys or JWKS for issuer ${JSON.stringify(issuer)}`)
    }
    keys.set(issuer, list as unknown[])
  }
  return keys
}

/** Normalizes a `typ` value: lower case, without an `application/` prefix (RFC 7515 §4.1.9). */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/** Validates every option eagerly; a mistake is a ConfigError naming the option. */
export function resolveOptions(options: JwtVerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options are required')
  const issuers = stringList(options.issuer, 'issuer')
  const audiences = new Set(stringList(options.audience, 'audience'))

  const sources = (['keys', 'jwksUri', 'discovery', 'secret'] as const).filter(
    (name) => options[name] !== undefined && options[name] !== false,
  )
  if (sources.length !== 1) {
    fail(`exactly one of "keys", "jwksUri", "discovery" or "secret" is required (got ${sources.length})`)
  }
  const secretMode = sources[0] === 'secret'

  const algorithms = options.algorithms ?? (secretMode ? DEFAULT_HMAC_ALGORITHMS : DEFAULT_ALGORITHMS)
  if (!Array.isArray(algorithms) || algorithms.length === 0) fail('"algorithms" must be a non-empty list')
  for (const alg of algorithms) {
    if (typeof alg !== 'string' || !isKnownAlgorithm(alg)) fail(`"algorithms" has an unsupported algorithm`)
    if (isHmacAlgorithm(alg) !== secretMode) {
      fail(
        secretMode
          ? '"algorithms" may only list HS256, HS384 or HS512 with "secret"'
          : '"algorithms" may not list an HMAC algorithm: HMAC needs the explicit "secret" mode',
      )
    }
  }

  let mode: ResolvedOptions['mode']
  switch (sources[0]) {
    case 'keys':
      mode = { kind: 'keys', keys: keysByIssuer(options.keys, issuers) }
      break
    case 'secret':
      // One secret cannot say which issuer it belongs to: with several, any of them could mint for all.
      if (issuers.length !== 1) fail('"secret" verifies one issuer: create one verifier per issuer')
      mode = { kind: 'secret', secret: options.secret }
      break
    case 'discovery':
      if (options.discovery !== true) fail('"discovery" must be true')
      for (const issuer of issuers) {
        if (!isSecureUrl(issuer)) fail('"issuer" must be an https URL (http only on loopback) for discovery')
      }
      mode = { kind: 'discovery' }
      break
    default: {
      const value = options.jwksUri
      const uris = new Map<string, string>()
      if (typeof value === 'string') {
        if (issuers.length !== 1)
          fail('"jwksUri" must map each issuer to its URL when there are several issuers')
        uris.set(issuers[0] as string, value)
      } else if (typeof value === 'object' && value !== null) {
        for (const issuer of issuers) {
          if (!Object.hasOwn(value, issuer)) fail(`"jwksUri" has no URL for issuer ${JSON.stringify(issuer)}`)
          uris.set(issuer, (value as Record<string, string>)[issuer] as string)
        }
      } else fail('"jwksUri" must be a URL or a map of issuer to URL')
      for (const uri of uris.values()) {
        if (typeof uri !== 'string' || !isSecureUrl(uri)) {
          fail('"jwksUri" must be an https URL (http only on loopback: 127.0.0.0/8, ::1, localhost)')
        }
      }
      mode = { kind: 'jwks', uris }
    }
  }

  const typ = options.typ
  if (typ !== undefined && (typeof typ !== 'string' || !/^[A-Za-z0-9!#$&^_.+/-]{1,64}$/.test(typ))) {
    fail('"typ" must be a media type such as "at+jwt"')
  }

  const cacheInput = options.keyCache ?? {}
  if (typeof cacheInput !== 'object' || cacheInput === null) fail('"keyCache" must be an object')
  const maxAge = seconds(cacheInput.maxAge, 'keyCache.maxAge', 600, 10, 86_400)
  const cache: KeyCacheSettings = {
    maxAge,
    refreshAhead: seconds(
      cacheInput.refreshAhead,
      'keyCache.refreshAhead',
      Math.min(60, maxAge / 5),
      0,
      maxAge - 1,
    ),
    staleIfError: seconds(cacheInput.staleIfError, 'keyCache.staleIfError', 3600, 0, 86_400),
    cooldown: seconds(cacheInput.unknownKidCooldown, 'keyCache.unknownKidCooldown', 30, 1, 3600),
    timeoutMs: seconds(cacheInput.timeout, 'keyCache.timeout', 5, 0.05, 60) * 1000,
    maxBytes: count(
      cacheInput.maxResponseBytes,
      'keyCache.maxResponseBytes',
      256 * 1024,
      1024,
      16 * 1024 * 1024,
    ),
  }

  const tokenCache = options.tokenCache
  if (
    tokenCache !== undefined &&
    tokenCache !== false &&
    (typeof tokenCache !== 'object' || tokenCache === null)
  ) {
    fail('"tokenCache" must be false or { maxEntries }')
  }
  const tokenCacheEntries =
    tokenCache === false ? 0 : count(tokenCache?.maxEntries, 'tokenCache.maxEntries', 10_000, 1, 10_000_000)
  const replay = options.replayProtection
  if (
    replay !== undefined &&
    typeof replay !== 'boolean' &&
    (typeof replay !== 'object' || replay === null)
  ) {
    fail('"replayProtection" must be a boolean, { maxEntries } or { store }')
  }
  const replayStore = typeof replay === 'object' && 'store' in replay ? replay.store : undefined
  if (replayStore !== undefined && typeof replayStore?.claim !== 'function') {
    fail('"replayProtection.store" must be a ReplayStore (a claim method)')
  }
  const replayEntries =
    replay === undefined || replay === false || replayStore !== undefined
      ? 0
      : count(
          replay === true ? undefined : (replay as { maxEntries?: number }).maxEntries,
          'replayProtection.maxEntries',
          100_000,
          1,
          10_000_000,
        )

  const clock = options.clock ?? systemClock
  if (typeof clock?.now !== 'function') fail('"clock" must have a now() method')

  return {
    issuers,
    rules: {
      audiences,
      maxLifetime: seconds(options.maxLifetime, 'maxLifetime', 900, 1, 86_400),
      clockTolerance: seconds(options.clockTolerance, 'clockTolerance', 5, 0, 60),
      scopeClaim: claimName(options.scopeClaim, 'scopeClaim'),
      subjectClaim: claimName(options.subjectClaim, 'subjectClaim') ?? 'sub',
    },
    algorithms: new Set(algorithms),
    mode,
    typ: typ === undefined ? undefined : normalizeTyp(typ),
    maxTokenBytes: count(options.maxTokenBytes, 'maxTokenBytes', 8192, 256, 65_536),
    cache,
    tokenCacheEntries,
    replayEntries,
    replayStore,
    clock,
  }
}
