import { auth } from '@callsign/fastify'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import { type IssuerRoutes, issuerPolicy } from './issuer-routes.js'
import type { KeyRing } from './key-ring.js'
import { metadataRoute } from './metadata-route.js'
import { parseForm } from './parse-form.js'
import type { ResolvedIssuerOptions } from './resolve-issuer-options.js'
import { tokenEndpoint } from './token-endpoint.js'

const BODY_LIMIT = 8 * 1024
const FORM = 'application/x-www-form-urlencoded'

/**
 * The issuer's Fastify app, ready and not listening: HTTPS when asked (with the TLS material's hot
 * reload attached to the server), every route in a public Callsign policy, form bodies of 8 KiB at
 * most and nothing else, the token endpoint, the JWKS, the metadata and the health check. Closing
 * it closes the key ring.
 */
export async function issuerApp(
  resolved: ResolvedIssuerOptions,
  routes: IssuerRoutes,
  keyRing: KeyRing,
): Promise<FastifyInstance> {
  const app = (resolved.https
    ? Fastify({ https: resolved.https.options, bodyLimit: BODY_LIMIT, logger: false })
    : Fastify({ bodyLimit: BODY_LIMIT, logger: false })) as unknown as FastifyInstance
  if (resolved.https?.attach) {
    const detach = resolved.https.attach(app.server as never)
    app.addHook('onClose', async () => detach())
  }
  app.addHook('onClose', async () => keyRing.close())

  // All public: the pipeline runs no verifier (see issuerPolicy).
  await app.register(auth, { policy: issuerPolicy(routes), verifiers: [], clock: resolved.clock })

  app.removeAllContentTypeParsers()
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
    done(null, parseForm(body as string)),
  )

  const token = tokenEndpoint({ resolved, routes, keyRing })
  app.setErrorHandler(function issuerErrorHandler(error: FastifyError, request, reply) {
    if (request.routeOptions.url === routes.token) return token.refuseBody(error, request, reply)
    const status = error.statusCode ?? 500
    const clientFault = status >= 400 && status < 500
    return reply
      .code(clientFault ? status : 500)
      .send({ error: clientFault ? 'bad_request' : 'server_error' })
  })
  app.post(routes.token, token.handle)

  app.get(routes.jwks, async function jwks(_request, reply) {
    return reply.header('cache-control', 'public, max-age=60').send(keyRing.jwks())
  })
  const metadata = metadataRoute(resolved, routes)
  app.get(routes.metadata, metadata)
  app.get(routes.openid, metadata)
  app.get(routes.health, async function healthz() {
    return { status: 'ok', signingKey: keyRing.signer().kid }
  })

  await app.ready()
  return app
}
