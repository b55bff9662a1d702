import type { ServerOptions as HttpsServerOptions } from 'node:https'
import { performance } from 'node:perf_hooks'
import { apiKeyVerifier, type KeyStore } from '@callsign/api-key'
import {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditReason,
  type AuditSink,
  type Caller,
  type Clock,
  definePolicy,
  type Logger,
  type Verifier,
} from '@callsign/core'
import { fromNodeRequest } from '@callsign/core/adapter'
import { auth } from '@callsign/fastify'
import { mintToken } from '@callsign/jwt'
import type { ServerTls } from '@callsign/mtls'
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import type { JWK } from 'jose'
import type { FailureStore } from './failure-store.js'
import { type AddressLimiter, addressLimiter } from './lib/address-limiter.js'
import { ASSERTION_ALGORITHMS, assertionVerifier } from './lib/assertion-clients.js'
import { clientAuthenticator } from './lib/authenticate-client.js'
import { grantScopes } from './lib/grant-scopes.js'
import { openKeyRing } from './lib/key-ring.js'
import { OAuthError } from './lib/oauth-error.js'
import { type ParsedForm, parseForm } from './lib/parse-form.js'
import { type ResolvedIssuerOptions, resolveIssuerOptions } from './lib/resolve-issuer-options.js'
import { serverMetadata } from './lib/server-metadata.js'
import { tokenTelemetry } from './lib/token-telemetry.js'

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
  /** A key directory (`callsign jwks generate --dir <dir>`), reloaded when it changes. */
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
  /** Where one-time warnings go (a failed key reload): a pino-compatible logger. Default: process warnings. */
  readonly logger?: Logger
  /** Reload the key directory when it changes. Default true. */
  readonly watchKeys?: boolean
  readonly clock?: Clock
}

/**
 * A token issuer, ready to listen.
 *
 * @example
 * const issuer = await createIssuer(options)
 * await issuer.app.listen({ port: 8443, host: '0.0.0.0' })
 * process.on('SIGTERM', () => issuer.close())
 */
export interface Issuer {
  /** The Fastify app, ready (routes and policy checked), not listening. */
  readonly app: FastifyInstance
  /** The public keys served now. */
  jwks(): { readonly keys: readonly JWK[] }
  /** Re-reads the key directory now; false (last good keys kept) when it cannot be read. */
  reloadKeys(): Promise<boolean>
  /** Stops the app and the key directory watcher. */
  close(): Promise<void>
}

const TOKEN_PATH = '/oauth2/token'
const JWKS_PATH = '/.well-known/jwks.json'
const OPENID_PATH = '/.well-known/openid-configuration'
/** RFC 8414 §3.1: the well-known segment goes before the issuer's path. */
const METADATA_PREFIX = '/.well-known/oauth-authorization-server'
const METADATA_MAX_AGE_MS = 60_000
const BODY_LIMIT = 8 * 1024
const FORM = 'application/x-www-form-urlencoded'
/** Published keys outlive their last token by the JWT verifiers' largest clock tolerance. */
const RETAIN_LEEWAY_MS = 60_000
const REALM = 'callsign'

/**
 * An OAuth 2.0 token service (client_credentials grant) protected by Callsign itself: clients trade
 * an API key or an mTLS certificate for a short-lived JWT signed with the key directory's current
 * key, and verifiers find the keys through OIDC discovery and the JWKS.
 *
 * Routes: `POST /oauth2/token`, `GET /.well-known/jwks.json`, `GET /.well-known/openid-configuration`,
 * `GET /healthz`, all in a Callsign policy enforced by `@callsign/fastify`. Every option is checked
 * and the key directory read before it resolves; a mistake rejects with a `ConfigError`.
 *
 * @example
 * const issuer = await createIssuer({
 *   issuer: 'https://issuer.internal',
 *   keys: '/etc/issuer/keys',
 *   store: fileKeyStore('/etc/issuer/clients.json'),
 *   audiences: ['orders'],
 * })
 * await issuer.app.listen({ port: 8443 })
 */
export async function createIssuer(options: IssuerOptions): Promise<Issuer> {
  const resolved = resolveIssuerOptions(options)
  const { clock, audiences, store, mtls, ttl, base, issuer, path } = resolved
  const routes = {
    token: `${path}${TOKEN_PATH}`,
    jwks: `${path}${JWKS_PATH}`,
    openid: `${path}${OPENID_PATH}`,
    metadata: `${METADATA_PREFIX}${path}`,
    health: `${path}/healthz`,
  }
  const keyRing = await openKeyRing(resolved.keys, {
    clock,
    retainMs: ttl * 1000 + RETAIN_LEEWAY_MS,
    onError: resolved.onKeysError,
    watch: resolved.watchKeys,
  })
  try {
    const assertionClients = resolved.assertionClients
    const authenticator = clientAuthenticator({
      store,
      mtls,
      certificateClients: resolved.certificateClients,
      assertions:
        assertionClients.size === 0
          ? undefined
          : assertionVerifier({
              clients: assertionClients,
              audiences: [...new Set([issuer, base, `${base}${TOKEN_PATH}`])],
              clock,
            }),
      clock,
    })
    const limiter = resolved.limit === false ? undefined : addressLimiter(resolved.limit, clock)
    const methods = [
      ...(store ? ['client_secret_basic', 'client_secret_post'] : []),
      ...(mtls ? ['tls_client_auth'] : []),
      ...(assertionClients.size > 0 ? ['private_key_jwt'] : []),
    ]

    const app = (resolved.https
      ? Fastify({ https: resolved.https.options, bodyLimit: BODY_LIMIT, logger: false })
      : Fastify({ bodyLimit: BODY_LIMIT, logger: false })) as unknown as FastifyInstance
    if (resolved.https?.attach) {
      const detach = resolved.https.attach(app.server as never)
      app.addHook('onClose', async () => detach())
    }
    app.addHook('onClose', async () => keyRing.close())

    // Every route is in the policy, and the adapter checks at ready() that none is missing. The
    // token endpoint is public at this layer: OAuth client authentication must answer in RFC 6749
    // form (invalid_client, invalid_request …), so the handler authenticates the client itself,
    // with the same verifiers.
    const verifiers: Verifier[] = [
      ...(store ? [apiKeyVerifier({ store, clock })] : []),
      ...(mtls ? [mtls] : []),
    ]
    // Only private_key_jwt clients: they authenticate in the handler alone, and the adapter wants a
    // verifier. This one recognises no credential, so it decides nothing.
    if (verifiers.length === 0) verifiers.push({ kind: 'jwt', verify: () => null })
    await app.register(auth, {
      policy: definePolicy({
        routes: {
          [`POST ${routes.token}`]: 'public',
          [`GET ${routes.jwks}`]: 'public',
          [`GET ${routes.metadata}`]: 'public',
          [`GET ${routes.openid}`]: 'public',
          [`GET ${routes.health}`]: 'public',
        },
      }),
      verifiers,
      clock,
    })

    app.removeAllContentTypeParsers()
    app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
      done(null, parseForm(body as string)),
    )

    const tokenIssued = tokenTelemetry()
    const audit = (
      started: number,
      request: FastifyRequest,
      outcome: { caller?: Caller | undefined; scopes?: readonly string[]; error?: OAuthError },
    ) => {
      const { caller, error } = outcome
      const who = caller ?? error?.caller
      const remoteAddress = request.raw.socket?.remoteAddress
      if (caller && !error) tokenIssued(caller, 'client_credentials')
      resolved.audit({
        v: AUDIT_SCHEMA_VERSION,
        time: new Date(clock.now()).toISOString(),
        decision: error ? 'deny' : 'allow',
        ...(error?.auditCode ? { code: error.auditCode } : {}),
        reason: error ? error.reason : 'token_issued',
        ...(who ? { caller: who.id, kind: who.kind, credentialId: who.credentialId } : {}),
        scopes: outcome.scopes ?? [],
        transport: 'http',
        method: 'POST',
        route: routes.token,
        ...(remoteAddress ? { remoteAddress } : {}),
        latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      })
    }

    app.setErrorHandler(function issuerErrorHandler(error: FastifyError, request, reply) {
      const status = error.statusCode ?? 500
      const clientFault = status >= 400 && status < 500
      if (request.routeOptions.url === routes.token) {
        const oauth = clientFault
          ? new OAuthError('invalid_request', { reason: bodyReason(error.code) })
          : new OAuthError('server_error', { reason: 'internal_error', cause: error })
        audit(performance.now(), request, { error: oauth })
        const answer = oauth.response(REALM)
        return reply.code(answer.status).headers(answer.headers).send(answer.body)
      }
      return reply
        .code(clientFault ? status : 500)
        .send({ error: clientFault ? 'bad_request' : 'server_error' })
    })

    app.post(routes.token, async function tokenEndpoint(request, reply) {
      const started = performance.now()
      let caller: Caller | undefined
      try {
        const form = request.body as ParsedForm | undefined
        if (form === undefined) throw new OAuthError('invalid_request', { reason: 'not_a_form_body' })
        if (!form.ok) throw new OAuthError('invalid_request', { reason: form.reason })
        const { params } = form
        const grantType = params.get('grant_type')
        if (grantType === undefined) throw new OAuthError('invalid_request', { reason: 'grant_type_missing' })
        if (grantType !== 'client_credentials') {
          throw new OAuthError('unsupported_grant_type', { reason: 'unsupported_grant_type' })
        }

        const req = fromNodeRequest(request.raw, 'POST', routes.token)
        const address = req.remoteAddress ?? 'unknown'
        let clientId: string | undefined
        try {
          const claimed = authenticator.claim({
            authorization: req.header('authorization'),
            params,
            ...(req.tls ? { tls: req.tls } : {}),
            ...(req.remoteAddress ? { remoteAddress: req.remoteAddress } : {}),
          })
          clientId = claimed.clientId
          const wait = limiter === undefined ? 0 : await limitFor(limiter, address, clientId)
          if (wait > 0) {
            throw new OAuthError('invalid_client', {
              reason: 'rate_limited',
              auditCode: 'ERR_INVALID_CREDENTIAL',
              status: 429,
              retryAfter: wait,
            })
          }
          caller = await claimed.authenticate()
        } catch (error) {
          if (error instanceof OAuthError && error.error === 'invalid_client' && error.status === 401) {
            // The answer is a 401 either way; a store that cannot count is said, not thrown.
            await limiter?.fail(address, clientId).catch((cause: unknown) => {
              process.emitWarning(
                `the failed-authentication store did not record a failure (${errorName(cause)})`,
                {
                  code: 'CALLSIGN_FAILURE_STORE',
                },
              )
            })
          }
          throw error
        }

        const allowed = caller.kind === 'api-key' ? undefined : resolved.clientAudiences.get(caller.id)
        const grant = grantScopes(caller, params, form.resources, {
          served: audiences,
          allowed: allowed ?? audiences,
        })
        const signer = keyRing.signer()
        const accessToken = await mintToken({
          key: signer,
          issuer,
          subject: caller.id,
          audience: grant.audience,
          scopes: grant.scopes,
          ttl,
          typ: 'at+jwt',
          claims: { client_id: caller.kind === 'api-key' ? caller.credentialId : caller.id },
          ...(caller.kind === 'mtls' && resolved.bindCertificates
            ? { certificateThumbprint: caller.credentialId }
            : {}),
          clock,
        })
        audit(started, request, { caller, scopes: grant.scopes })
        return reply
          .code(200)
          .headers({ 'cache-control': 'no-store', pragma: 'no-cache' })
          .send({
            access_token: accessToken,
            token_type: 'Bearer',
            expires_in: ttl,
            scope: grant.scopes.join(' '),
          })
      } catch (error) {
        const oauth =
          error instanceof OAuthError
            ? error
            : new OAuthError('server_error', { reason: 'internal_error', cause: error })
        audit(started, request, { caller, error: oauth })
        const answer = oauth.response(REALM)
        return reply.code(answer.status).headers(answer.headers).send(answer.body)
      }
    })

    app.get(routes.jwks, async function jwks(_request, reply) {
      return reply.header('cache-control', 'public, max-age=60').send(keyRing.jwks())
    })

    const scopesOffered = offeredScopes(resolved, clock)
    const metadata = async function metadata(_request: FastifyRequest, reply: FastifyReply) {
      return reply.header('cache-control', 'public, max-age=300').send(
        serverMetadata({
          issuer,
          tokenEndpoint: `${base}${TOKEN_PATH}`,
          jwksUri: `${base}${JWKS_PATH}`,
          authMethods: methods,
          assertionAlgorithms: assertionClients.size > 0 ? [...ASSERTION_ALGORITHMS] : [],
          scopes: await scopesOffered(),
          boundTokens: mtls !== undefined && resolved.bindCertificates,
        }),
      )
    }
    app.get(routes.metadata, metadata)
    app.get(routes.openid, metadata)

    app.get(routes.health, async function healthz() {
      return { status: 'ok', signingKey: keyRing.signer().kid }
    })

    await app.ready()
    return Object.freeze({
      app,
      jwks: () => keyRing.jwks(),
      reloadKeys: () => keyRing.reload(),
      close: () => app.close(),
    })
  } catch (error) {
    keyRing.close()
    throw error
  }
}

/**
 * The scopes some client may be issued: the certificate clients' and those of the keys in the
 * store, read at most once a minute (the metadata route is public; it must not drive store reads).
 */
function offeredScopes(resolved: ResolvedIssuerOptions, clock: Clock): () => Promise<string[]> {
  let cached: { at: number; scopes: string[] } | undefined
  return async () => {
    const now = clock.now()
    if (cached && now - cached.at < METADATA_MAX_AGE_MS) return cached.scopes
    const scopes = new Set(resolved.clientScopes)
    try {
      for (const record of (await resolved.store?.list()) ?? []) {
        if (record.state === 'active') for (const scope of record.scopes) scopes.add(scope)
      }
    } catch {
      // The store is down (the token endpoint says so): list what is known, and ask again next time.
      return [...scopes].sort()
    }
    cached = { at: now, scopes: [...scopes].sort() }
    return cached.scopes
  }
}

function bodyReason(code: string | undefined): AuditReason {
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body_too_large'
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'not_a_form_body'
  return 'malformed_body'
}

/** The wait before this address may try again; a failure store that does not answer refuses the request (fail closed). */
async function limitFor(
  limiter: AddressLimiter,
  address: string,
  clientId: string | undefined,
): Promise<number> {
  try {
    return await limiter.retryAfter(address, clientId)
  } catch (cause) {
    throw new OAuthError('temporarily_unavailable', { reason: 'limiter_unavailable', cause })
  }
}

function errorName(cause: unknown): string {
  return (cause as { code?: unknown } | null)?.code === undefined
    ? 'error'
    : String((cause as { code: unknown }).code)
}
