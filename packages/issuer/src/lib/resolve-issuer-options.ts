import type { ServerOptions as HttpsServerOptions } from 'node:https'
import type { KeyStore } from '@callsign/api-key'
import {
  type AuditEvent,
  type Clock,
  ConfigError,
  isScope,
  type Logger,
  systemClock,
  type Verifier,
} from '@callsign/core'
import { checkLogger, warn } from '@callsign/core/adapter'
import { mtlsVerifier, parseSpiffeId, type ServerTls } from '@callsign/mtls'
import type { IssuerClient, IssuerOptions } from '../create-issuer.js'
import { type FailureStore, memoryFailureStore } from '../failure-store.js'
import type { AssertionClient } from './assertion-clients.js'
import { hasKeys, resolveAssertionClients } from './resolve-assertion-clients.js'

export interface ResolvedIssuerOptions {
  /** The issuer URL as given (the `iss` claim), and its form without a trailing slash. */
  readonly issuer: string
  readonly base: string
  /** The issuer URL's path without a trailing slash (`''` or `/tenant1`): every route is under it. */
  readonly path: string
  readonly keys: string
  readonly audiences: readonly string[]
  readonly store: KeyStore | undefined
  readonly mtls: Verifier | undefined
  /** Certificate clients: identity → the scopes it may be issued (the verifier only authenticates). */
  readonly certificateClients: ReadonlyMap<string, readonly string[]>
  /** private_key_jwt clients: client id → scopes and public keys. */
  readonly assertionClients: ReadonlyMap<string, AssertionClient>
  /** Registered clients limited to some of the audiences: client id → those audiences. */
  readonly clientAudiences: ReadonlyMap<string, readonly string[]>
  /** Every scope some registered client may be issued (for the metadata's `scopes_supported`). */
  readonly clientScopes: readonly string[]
  readonly ttl: number
  readonly bindCertificates: boolean
  readonly https: { readonly options: HttpsServerOptions; readonly attach?: ServerTls['attach'] } | undefined
  readonly audit: (event: AuditEvent) => void
  readonly limit:
    | {
        readonly burst: number
        readonly perMinute: number
        readonly addressBurst: number
        readonly store: FailureStore
      }
    | false
  /** Where one-time warnings go; undefined: process warnings. */
  readonly logger: Logger | undefined
  readonly onKeysError: (error: Error) => void
  readonly watchKeys: boolean
  readonly clock: Clock
}

export const MAX_TTL = 3600
const ISSUER_PATH = /^(\/[A-Za-z0-9._~-]+)*\/?$/
const AUDIENCE = /^[\x21-\x7e]{1,512}$/
const fail = (message: string): never => {
  throw new ConfigError(`createIssuer: ${message}`)
}

/** Validates every option at startup; each mistake is a ConfigError naming the option. */
export function resolveIssuerOptions(options: IssuerOptions): ResolvedIssuerOptions {
  if (typeof options !== 'object' || options === null) fail('options are required')
  const issuer = checkIssuer(options.issuer)
  if (typeof options.keys !== 'string' || options.keys.length === 0) {
    fail('"keys" must be the path of a key directory (made by createKeyDir of @callsign/jwt)')
  }
  const audiences = options.audiences
  if (!Array.isArray(audiences) || audiences.length === 0) {
    fail('"audiences" must list at least one audience a token may be issued for')
  }
  for (const audience of audiences) {
    if (typeof audience !== 'string' || !AUDIENCE.test(audience)) {
      fail(`"audiences" has an invalid audience ${JSON.stringify(audience)}: visible ASCII, no spaces`)
    }
  }
  const store = options.store
  if (store !== undefined && typeof store?.find !== 'function')
    fail('"store" must be a KeyStore (fileKeyStore)')
  const clock = options.clock ?? systemClock
  if (typeof clock?.now !== 'function') fail('"clock" must have a now() method')
  const logger = checkLogger(options.logger, 'createIssuer')
  const clients = checkClients(options.clients)
  const certificateClients = Object.fromEntries(
    Object.entries(clients).filter(([, client]) => !hasKeys(client)),
  )
  const registered = registeredScopes(certificateClients)
  const mtls =
    registered.size === 0 ? undefined : clientsVerifier([...registered.keys()], options.https, clock)
  const assertionClients = resolveAssertionClients(clients)
  if (store === undefined && options.clients === undefined) {
    fail('give "store" (API key clients), "clients" (certificate clients), or both')
  }
  const ttl = options.ttl ?? 300
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL) {
    fail(`"ttl" must be a whole number of seconds from 1 to ${MAX_TTL}`)
  }
  if (options.bindCertificates !== undefined && typeof options.bindCertificates !== 'boolean') {
    fail('"bindCertificates" must be a boolean')
  }
  return {
    issuer,
    base: issuer.replace(/\/+$/, ''),
    path: new URL(issuer).pathname.replace(/\/+$/, ''),
    keys: options.keys,
    audiences: Object.freeze([...new Set(audiences)]),
    store,
    mtls,
    certificateClients: registered,
    assertionClients,
    clientAudiences: clientAudiences(clients, audiences),
    clientScopes: [...new Set(Object.values(clients).flatMap((client) => client.scopes))],
    ttl,
    bindCertificates: options.bindCertificates ?? true,
    https: checkHttps(options.https),
    audit: auditSinks(options.audit),
    limit: checkLimit(options.failedAuthentication),
    logger,
    onKeysError:
      options.onKeysError ??
      ((error) =>
        warn(logger, 'CALLSIGN_KEYS_RELOAD', `issuer: ${error.message}; keeping the last good signing keys`)),
    watchKeys: options.watchKeys ?? true,
    clock,
  }
}

function checkIssuer(value: unknown): string {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return fail('"issuer" must be an absolute https: URL (http: for local development)')
  }
  if (
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    (value !== url.href.replace(/\/$/, '') && value !== url.href)
  ) {
    fail('"issuer" must have no user name, password, query or fragment, and be written in normal form')
  }
  if (!ISSUER_PATH.test(url.pathname)) {
    fail('"issuer" path must be segments of letters, digits and . _ ~ - (such as /tenant1)')
  }
  return value as string
}

/** Each `clients` entry's own `audiences`: a non-empty subset of the issuer's. */
function clientAudiences(
  clients: Readonly<Record<string, IssuerClient>>,
  served: readonly string[],
): ReadonlyMap<string, readonly string[]> {
  const limited = new Map<string, readonly string[]>()
  for (const [id, client] of Object.entries(clients)) {
    if (client.audiences === undefined) continue
    const own = client.audiences
    if (!Array.isArray(own) || own.length === 0 || own.some((audience) => !served.includes(audience))) {
      fail(`"clients" entry ${JSON.stringify(id)}: "audiences" must list some of the issuer's "audiences"`)
    }
    limited.set(id, [...new Set(own)])
  }
  return limited
}

function checkClients(clients: IssuerOptions['clients']): Readonly<Record<string, IssuerClient>> {
  if (clients === undefined) return {}
  if (typeof clients !== 'object' || clients === null || Array.isArray(clients)) {
    return fail('"clients" must map client ids (certificate identities) to { scopes }')
  }
  if (Object.keys(clients).length === 0)
    fail('"clients" is empty: leave it out to accept API key clients only')
  for (const [id, client] of Object.entries(clients)) {
    if (typeof client !== 'object' || client === null)
      fail(`"clients" entry ${JSON.stringify(id)} must be { scopes }`)
  }
  return clients
}

/** Certificate clients: SPIFFE IDs (or DNS names) → the scopes each may be issued. */
function registeredScopes(
  clients: Readonly<Record<string, IssuerClient>>,
): ReadonlyMap<string, readonly string[]> {
  const registered = new Map<string, readonly string[]>()
  for (const [id, client] of Object.entries(clients)) {
    const scopes = client.scopes
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((scope) => !isScope(scope))) {
      fail(
        `"clients" entry ${JSON.stringify(id)} must have a non-empty "scopes" list of "resource:action" scopes`,
      )
    }
    registered.set(id, Object.freeze([...new Set(scopes)]))
  }
  return registered
}

/**
 * The verifier of the certificate clients (one kind of identity): it authenticates only; the
 * scopes a client may be issued are looked up in `clients` when the token is granted.
 */
function clientsVerifier(ids: readonly string[], https: IssuerOptions['https'], clock: Clock): Verifier {
  const spiffe = ids.filter((id) => id.startsWith('spiffe://'))
  if (spiffe.length > 0 && spiffe.length < ids.length) {
    fail('"clients" mixes SPIFFE IDs and DNS names: use one kind of identity')
  }
  try {
    if (spiffe.length > 0) {
      const trustDomains = [...new Set(spiffe.map((id) => parseSpiffeId(id).trustDomain))]
      // Each trust domain bound to its CAs: by tlsServerOptions, or the one CA of plain options.
      if (isServerTls(https))
        return mtlsVerifier({ identity: 'spiffe', serverTls: https, trustDomains, clock })
      const ca = (https as HttpsServerOptions | undefined)?.ca
      const oneCa =
        (typeof ca === 'string' || ca instanceof Uint8Array) &&
        Buffer.from(ca).toString('latin1').split('-----BEGIN CERTIFICATE-----').length === 2
      const bound = trustDomains.length === 1 && oneCa ? { [trustDomains[0]!]: { ca } } : undefined
      return mtlsVerifier({ identity: 'spiffe', ...(bound ? { trustDomains: bound } : {}), clock })
    }
    return mtlsVerifier({ identity: 'dns', dnsNames: ids, clock })
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : 'invalid'
    throw new ConfigError(`createIssuer: "clients": ${detail}`, { cause })
  }
}

function checkHttps(value: IssuerOptions['https']): ResolvedIssuerOptions['https'] {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null)
    fail('"https" must be tlsServerOptions(...) or https server options')
  if (isServerTls(value)) {
    const tls = value
    return { options: tls.options as HttpsServerOptions, attach: tls.attach.bind(tls) }
  }
  return { options: value as HttpsServerOptions }
}

function auditSinks(audit: IssuerOptions['audit']): (event: AuditEvent) => void {
  const list = audit === undefined ? [] : Array.isArray(audit) ? audit : [audit]
  const sinks = list.map((sink): ((event: AuditEvent) => void) => {
    if (typeof sink === 'function') return sink
    if (typeof sink?.write === 'function') return (event) => sink.write(event)
    return fail('"audit" must be an AuditSink, a function, or a list of them')
  })
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event)
      } catch {
        // an audit sink never decides a token request
      }
    }
  }
}

function checkLimit(value: IssuerOptions['failedAuthentication']): ResolvedIssuerOptions['limit'] {
  if (value === false) return false
  const burst = value?.burst ?? 10
  const perMinute = value?.perMinute ?? 10
  const maxTracked = value?.maxTracked ?? 10_000
  const addressBurst = value?.addressBurst ?? 5 * burst
  if (!Number.isSafeInteger(burst) || burst < 1)
    fail('"failedAuthentication.burst" must be a positive integer')
  if (!(perMinute > 0) || !Number.isFinite(perMinute))
    fail('"failedAuthentication.perMinute" must be positive')
  if (!Number.isSafeInteger(maxTracked) || maxTracked < 1) {
    fail('"failedAuthentication.maxTracked" must be a positive integer')
  }
  if (!Number.isSafeInteger(addressBurst) || addressBurst < burst) {
    fail('"failedAuthentication.addressBurst" must be an integer no smaller than "burst"')
  }
  const store = value?.store ?? memoryFailureStore({ maxTracked })
  if (typeof store?.retryAfter !== 'function' || typeof store.fail !== 'function') {
    fail('"failedAuthentication.store" must be a FailureStore (retryAfter and fail)')
  }
  return { burst, perMinute, addressBurst, store }
}

function isServerTls(value: IssuerOptions['https']): value is ServerTls {
  return (
    typeof value === 'object' && value !== null && 'attach' in value && typeof value.attach === 'function'
  )
}
