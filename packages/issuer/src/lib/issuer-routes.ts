import { definePolicy, type Policy } from '@callsign/core'

/** The issuer's routes, all under the issuer URL's path, and the absolute URLs the metadata gives. */
export interface IssuerRoutes {
  readonly token: string
  readonly jwks: string
  readonly openid: string
  readonly metadata: string
  readonly health: string
  /** The token endpoint's absolute URL (`token_endpoint`, and an accepted assertion audience). */
  readonly tokenUrl: string
  readonly jwksUrl: string
}

const TOKEN_PATH = '/oauth2/token'
const JWKS_PATH = '/.well-known/jwks.json'
const OPENID_PATH = '/.well-known/openid-configuration'
/** RFC 8414 §3.1: the well-known segment goes before the issuer's path. */
const METADATA_PREFIX = '/.well-known/oauth-authorization-server'

/** The routes of an issuer whose URL, without a trailing slash, is `base`, and whose path is `path`. */
export function issuerRoutes({ base, path }: { readonly base: string; readonly path: string }): IssuerRoutes {
  return {
    token: `${path}${TOKEN_PATH}`,
    jwks: `${path}${JWKS_PATH}`,
    openid: `${path}${OPENID_PATH}`,
    metadata: `${METADATA_PREFIX}${path}`,
    health: `${path}/healthz`,
    tokenUrl: `${base}${TOKEN_PATH}`,
    jwksUrl: `${base}${JWKS_PATH}`,
  }
}

/**
 * Every route is in the policy, and the adapter checks at ready() that none is missing. Every one is
 * public at this layer: the token endpoint authenticates its clients itself, because OAuth client
 * authentication must answer in RFC 6749 form (`invalid_client`, `invalid_request` …), which the
 * pipeline's refusals are not. So the pipeline has no verifier to run.
 */
export function issuerPolicy(routes: IssuerRoutes): Policy {
  return definePolicy({
    routes: {
      [`POST ${routes.token}`]: 'public',
      [`GET ${routes.jwks}`]: 'public',
      [`GET ${routes.metadata}`]: 'public',
      [`GET ${routes.openid}`]: 'public',
      [`GET ${routes.health}`]: 'public',
    },
  })
}
