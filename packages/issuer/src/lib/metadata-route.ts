import type { Clock } from '@callsign/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ASSERTION_ALGORITHMS } from './assertion-clients.js'
import type { IssuerRoutes } from './issuer-routes.js'
import type { ResolvedIssuerOptions } from './resolve-issuer-options.js'
import { serverMetadata } from './server-metadata.js'

const SCOPES_MAX_AGE_MS = 60_000

/**
 * The RFC 8414 metadata route (also served at the OpenID discovery location): the client
 * authentication methods this issuer is configured to accept, and the scopes some client may be issued.
 */
export function metadataRoute(
  resolved: ResolvedIssuerOptions,
  routes: IssuerRoutes,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const assertions = resolved.assertionClients.size > 0
  const authMethods = [
    ...(resolved.store ? ['client_secret_basic', 'client_secret_post'] : []),
    ...(resolved.mtls ? ['tls_client_auth'] : []),
    ...(assertions ? ['private_key_jwt'] : []),
  ]
  const scopesOffered = offeredScopes(resolved, resolved.clock)
  return async function metadata(_request, reply) {
    return reply.header('cache-control', 'public, max-age=300').send(
      serverMetadata({
        issuer: resolved.issuer,
        tokenEndpoint: routes.tokenUrl,
        jwksUri: routes.jwksUrl,
        authMethods,
        assertionAlgorithms: assertions ? [...ASSERTION_ALGORITHMS] : [],
        scopes: await scopesOffered(),
        boundTokens: resolved.mtls !== undefined && resolved.bindCertificates,
      }),
    )
  }
}

/**
 * The scopes some client may be issued: the registered clients' and those of the keys in the
 * store, read at most once a minute (the metadata route is public; it must not drive store reads).
 */
function offeredScopes(resolved: ResolvedIssuerOptions, clock: Clock): () => Promise<string[]> {
  let cached: { at: number; scopes: string[] } | undefined
  return async () => {
    const now = clock.now()
    if (cached && now - cached.at < SCOPES_MAX_AGE_MS) return cached.scopes
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
