import type { ServerOptions as HttpsServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { KeyStore } from '@callsign/api-key'
import { type AuditEvent, type AuditSink, type Clock, ConfigError, type Logger } from '@callsign/core'
import type { ServerTls } from '@callsign/mtls'
import type { FastifyInstance } from 'fastify'
import type { JWK } from 'jose'
import type { FailureStore } from './failure-store.js'
import { issuerApp } from './lib/issuer-app.js'
import { issuerRoutes } from './lib/issuer-routes.js'
import { openKeyRing } from './lib/key-ring.js'
import { resolveIssuerOptions } from './lib/resolve-issuer-options.js'

/**
 * A registered client: the scopes it may be issued, and how it authenticates. Without keys, with its
 * certificate (RFC 8705 tls_client_auth; the client id is its SPIFFE ID or DNS name). With `jwks` or
 * `jwksUri`, with a JWT assertion signed by its own key (RFC 7523 private_key_jwt).
 *
 * @example
 * const clients: Record<string, IssuerClient> = {
 *   'spiffe://mesh.local/ns/prod/sa/orders': { scopes: ['inventory:reserve'] },
 *   billing: { scopes: ['orders:read'], jwks: '/etc/issuer/clients/billing.jwks.json' },
 * }
 */
export interface IssuerClient {
  readonly scopes: readonly string[]
  /** private_key_jwt: the client's public keys, as a JWKS or the path of a JWKS file (read at startup). */
  readonly jwks?: { readonly keys: readonly JWK[] } | string
  /** private_key_jwt: a URL serving the client's JWKS (https, or http on loopback), cached and refetched on an unknown `kid`. */
  readonly jwksUri?: string
  /** The audiences this client may be issued tokens for, among the issuer's `audiences`. Default: all of them. */
  readonly audiences?: readonly string[]
}

/**
 * The limit on failed client authentications: a token bucket per client id **within** a remote
 * address, and a larger one per remote address. Never one per client id alone, which anyone who
 * knows a client id could empty to lock its owner out. An exhausted bucket answers 429 with
 * `Retry-After` to that address (for that client id), even with the right credential.
 *
 * @example
 * createIssuer({ ...options, failedAuthentication: { burst: 5, perMinute: 5 } })
 */
export interface FailedAuthenticationOptions {
  /** Failures of one client id from one address allowed in a burst. Default 10. */
  readonly burst?: number
  /** Failures forgiven per minute (per client id within an address). Default 10. */
  readonly perMinute?: number
  /** Failures of any client ids from one address allowed in a burst; refills as fast, relatively. Default 5 × burst. */
  readonly addressBurst?: number
  /** Addresses (and address + client id pairs) tracked at most, least recently failed forgotten first. Default 10 000. */
  readonly maxTracked?: number
  /**
   * Where failures are counted. Default: this process's memory (`maxTracked` applies). Give every
   * issuer instance one shared store (`postgresFailureStore` from `@callsign/store-postgres`) so an
   * address throttled by one is throttled by all.
   */
  readonly store?: FailureStore
}

/**
 * Options of {@link createIssuer}.
 *
 * @example
 * const options: IssuerOptions = {
 *   issuer: 'https://issuer.internal',
 *   keys: '/etc/issuer/keys',
 *   store: fileKeyStore('/etc/issuer/clients.json'),
 *   audiences: ['orders', 'inventory'],
 * }
 */
export interface IssuerOptions {
  /** The issuer URL: the `iss` claim, and the base of the discovery, JWKS and token URLs. */
  readonly issuer: string
  /** A key directory (`createKeyDir` of `@callsign/jwt`, or `callsign jwks generate --dir <dir>`), reloaded when it changes. */
  readonly keys: string
  /** The audiences a token may be issued for. A request naming another is `invalid_target`. */
  readonly audiences: readonly string[]
  /** API key clients: `client_id` = key id, scopes = the key's scopes, `sub` = its owner. */
  readonly store?: KeyStore
  /** Registered clients: certificate clients (SPIFFE ID or DNS name → scopes) and private_key_jwt clients (with keys). */
  readonly clients?: Readonly<Record<string, IssuerClient>>
  /** Token lifetime in seconds, 1 to 3600. Default 300. */
  readonly ttl?: number
  /** Bind the tokens of certificate clients to their certificate (`cnf.x5t#S256`). Default true. */
  readonly bindCertificates?: boolean
  /**
   * Serve HTTPS: `tlsServerOptions({ ca, cert, key, clientCertificate: 'request' })` from
   * `@callsign/mtls` (hot reload included), or plain `https` server options.
   */
  readonly https?: ServerTls | HttpsServerOptions
  /** Where audit events go (one per token request): a sink, a function, or several. */
  readonly audit?:
    | AuditSink
    | ((event: AuditEvent) => void)
    | readonly (AuditSink | ((event: AuditEvent) => void))[]
  /** Limit on failed client authentications; `false` turns it off. */
  readonly failedAuthentication?: FailedAuthenticationOptions | false
  /** A changed key directory could not be read; the last good keys stay. Default: a process warning. */
  readonly onKeysError?: (error: Error) => void
  /**
   * Where one-time warnings go (a failed key reload, a failure store that cannot record a failure):
   * a pino-compatible logger. Default: process warnings.
   */
  readonly logger?: Logger
  /** Reload the key directory when it changes. Default true. */
  readonly watchKeys?: boolean
  readonly clock?: Clock
}

/** Where {@link Issuer.listen} listens. */
export interface IssuerListenOptions {
  /** The TCP port; `0` for any free one (the answer says which). */
  readonly port: number
  /** The address to listen on. Default `'localhost'` (loopback only); `'0.0.0.0'` or `'::'` for every interface. */
  readonly host?: string
}

/**
 * A token issuer, ready to listen. Its HTTP server is its own: the issuer decides its routes, body
 * limits, TLS and error answers, so it hands out what a service needs from a server (listen on a
 * port, stop) and nothing a caller could change them with.
 *
 * @example
 * const issuer = await createIssuer(options)
 * const { port } = await issuer.listen({ port: 8443, host: '0.0.0.0' })
 * process.on('SIGTERM', () => issuer.close())
 */
export interface Issuer {
  /** Starts serving; resolves to the address it listens on (with `port: 0`, the port it got). */
  listen(options: IssuerListenOptions): Promise<AddressInfo>
  /** The public keys served now. */
  jwks(): { readonly keys: readonly JWK[] }
  /** Re-reads the key directory now; false (last good keys kept) when it cannot be read. */
  reloadKeys(): Promise<boolean>
  /** Stops serving (requests under way are answered, idle connections closed) and the key directory watcher. */
  close(): Promise<void>
}

/** Published keys outlive their last token by the JWT verifiers' largest clock tolerance. */
const RETAIN_LEEWAY_MS = 60_000

/**
 * An OAuth 2.0 token service (client_credentials grant) protected by Callsign itself: clients trade
 * an API key, an mTLS certificate or a signed JWT assertion for a short-lived JWT signed with the key
 * directory's current key, and verifiers find the keys through OIDC discovery and the JWKS.
 *
 * Routes: `POST /oauth2/token`, `GET /.well-known/jwks.json`, the RFC 8414 metadata (also at
 * `GET /.well-known/openid-configuration`), `GET /healthz`, all in a Callsign policy enforced by
 * `@callsign/fastify`. Every option is checked and the key directory read before it resolves; a
 * mistake rejects with a `ConfigError`.
 *
 * @example
 * const issuer = await createIssuer({
 *   issuer: 'https://issuer.internal',
 *   keys: '/etc/issuer/keys',
 *   store: fileKeyStore('/etc/issuer/clients.json'),
 *   audiences: ['orders'],
 * })
 * await issuer.listen({ port: 8443, host: '0.0.0.0' })
 */
export async function createIssuer(options: IssuerOptions): Promise<Issuer> {
  const resolved = resolveIssuerOptions(options)
  const routes = issuerRoutes(resolved)
  const keyRing = await openKeyRing(resolved.keys, {
    clock: resolved.clock,
    retainMs: resolved.ttl * 1000 + RETAIN_LEEWAY_MS,
    onError: resolved.onKeysError,
    watch: resolved.watchKeys,
  })
  const app = await issuerApp(resolved, routes, keyRing).catch((error: unknown) => {
    keyRing.close()
    throw error
  })
  return Object.freeze({
    async listen(where: IssuerListenOptions) {
      const { port, host = 'localhost' } = checkListen(where)
      await app.listen({ port, host })
      return app.server.address() as AddressInfo
    },
    jwks: () => keyRing.jwks(),
    reloadKeys: () => keyRing.reload(),
    close: () => closeServing(app),
  })
}

/**
 * Fastify's close answers the requests under way and closes the connections idle at that moment. A
 * keep-alive connection whose request was under way becomes idle only once answered, and would then
 * hold the close up for the keep-alive timeout (72 s): close the idle ones again until it is done.
 */
async function closeServing(app: FastifyInstance): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 100)
  try {
    await app.close()
  } finally {
    clearInterval(sweep)
  }
}

function checkListen(where: IssuerListenOptions): IssuerListenOptions {
  if (!Number.isSafeInteger(where?.port) || where.port < 0 || where.port > 65_535) {
    throw new ConfigError('issuer.listen: "port" must be a whole number from 0 to 65535')
  }
  if (where.host !== undefined && (typeof where.host !== 'string' || where.host === '')) {
    throw new ConfigError('issuer.listen: "host" must be an address or a host name')
  }
  return where
}
