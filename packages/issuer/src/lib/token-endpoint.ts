import { performance } from 'node:perf_hooks'
import type { Caller } from '@callsign/core'
import { fromNodeRequest } from '@callsign/core/adapter'
import { mintToken } from '@callsign/jwt'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { addressLimiter } from './address-limiter.js'
import { assertionVerifier } from './assertion-clients.js'
import { type ClientRequest, clientAuthenticator } from './authenticate-client.js'
import { authenticateUnderLimit } from './authenticate-under-limit.js'
import { clientCredentialsForm } from './client-credentials-form.js'
import { type Grant, grantScopes } from './grant-scopes.js'
import type { IssuerRoutes } from './issuer-routes.js'
import type { KeyRing } from './key-ring.js'
import { OAuthError } from './oauth-error.js'
import type { ResolvedIssuerOptions } from './resolve-issuer-options.js'
import { tokenRequestAudit } from './token-request-audit.js'
import { tokenTelemetry } from './token-telemetry.js'

export interface TokenEndpointOptions {
  readonly resolved: ResolvedIssuerOptions
  readonly routes: IssuerRoutes
  readonly keyRing: KeyRing
}

export interface TokenEndpoint {
  /** `POST <path>/oauth2/token`. */
  handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>
  /** Answers a token request whose body Fastify refused before the handler (too large, not a form). */
  refuseBody(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply
}

const REALM = 'callsign'
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * The token endpoint (RFC 6749 §4.4, client_credentials): a well-formed form with that grant, the
 * client authenticated under the failed-authentication limit, the scopes and audiences granted, a
 * token minted with the key ring's current key, the answer. Every request gives one audit event.
 */
export function tokenEndpoint({ resolved, routes, keyRing }: TokenEndpointOptions): TokenEndpoint {
  const { clock, issuer, ttl } = resolved
  const authenticate = authenticateUnderLimit(
    clientAuthenticator({
      store: resolved.store,
      mtls: resolved.mtls,
      certificateClients: resolved.certificateClients,
      assertions:
        resolved.assertionClients.size === 0
          ? undefined
          : assertionVerifier({
              clients: resolved.assertionClients,
              audiences: [...new Set([issuer, resolved.base, routes.tokenUrl])],
              clock,
            }),
      clock,
    }),
    resolved.limit === false ? undefined : addressLimiter(resolved.limit, clock),
    resolved.logger,
  )
  const audit = tokenRequestAudit({ audit: resolved.audit, clock, route: routes.token })
  const tokenIssued = tokenTelemetry()

  const grant = (caller: Caller, params: ReadonlyMap<string, string>, resources: readonly string[]) => {
    const allowed = caller.kind === 'api-key' ? undefined : resolved.clientAudiences.get(caller.id)
    return grantScopes(caller, params, resources, {
      served: resolved.audiences,
      allowed: allowed ?? resolved.audiences,
    })
  }

  const mint = (caller: Caller, granted: Grant) =>
    mintToken({
      key: keyRing.signer(),
      issuer,
      subject: caller.id,
      audience: granted.audience,
      scopes: granted.scopes,
      ttl,
      typ: 'at+jwt',
      claims: { client_id: caller.kind === 'api-key' ? caller.credentialId : caller.id },
      ...(caller.kind === 'mtls' && resolved.bindCertificates
        ? { certificateThumbprint: caller.credentialId }
        : {}),
      clock,
    })

  /** The one place a refusal becomes its RFC 6749 §5.2 answer and its audit event. */
  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    started: number,
    error: unknown,
    caller?: Caller,
  ): FastifyReply => {
    const oauth =
      error instanceof OAuthError
        ? error
        : new OAuthError('server_error', { reason: 'internal_error', cause: error })
    audit(request, started, { caller, error: oauth })
    const answer = oauth.response(REALM)
    return reply.code(answer.status).headers(answer.headers).send(answer.body)
  }

  return {
    async handle(request, reply) {
      const started = performance.now()
      let caller: Caller | undefined
      try {
        const { params, resources } = clientCredentialsForm(request.body)
        caller = await authenticate(clientRequest(request, routes.token, params))
        const granted = grant(caller, params, resources)
        const accessToken = await mint(caller, granted)
        tokenIssued(caller, 'client_credentials')
        audit(request, started, { caller, scopes: granted.scopes })
        return reply
          .code(200)
          .headers(NO_STORE)
          .send({
            access_token: accessToken,
            token_type: 'Bearer',
            expires_in: ttl,
            scope: granted.scopes.join(' '),
          })
      } catch (error) {
        return refuse(request, reply, started, error, caller)
      }
    },
    refuseBody(error, request, reply) {
      const status = error.statusCode ?? 500
      const refusal =
        status >= 400 && status < 500
          ? new OAuthError('invalid_request', { reason: bodyReason(error.code) })
          : new OAuthError('server_error', { reason: 'internal_error', cause: error })
      return refuse(request, reply, performance.now(), refusal)
    },
  }
}

/** What client authentication looks at, from the request: its Authorization header(s), TLS peer and address. */
function clientRequest(
  request: FastifyRequest,
  route: string,
  params: ReadonlyMap<string, string>,
): ClientRequest {
  const req = fromNodeRequest(request.raw, 'POST', route)
  return {
    authorization: req.header('authorization'),
    params,
    ...(req.tls ? { tls: req.tls } : {}),
    ...(req.remoteAddress ? { remoteAddress: req.remoteAddress } : {}),
  }
}

function bodyReason(code: string | undefined): 'body_too_large' | 'not_a_form_body' | 'malformed_body' {
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body_too_large'
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'not_a_form_body'
  return 'malformed_body'
}
