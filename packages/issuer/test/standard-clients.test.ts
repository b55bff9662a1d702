import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jwtVerifier } from '@callsign/jwt'
import { createDevCa, issueServiceCertificate, tlsServerOptions } from '@callsign/mtls'
import { createRemoteJWKSet, customFetch as joseFetch, jwtVerify } from 'jose'
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type IssuerFixture, startIssuer } from './support/issuer-fixture.js'
import { tlsFetch } from './support/tls-fetch.js'

// openid-client 6 drives the issuer over real HTTP; jose checks every token on its own, with the
// keys it finds at the discovered jwks_uri.

const insecure = { execute: [client.allowInsecureRequests] }

/** Verifies a token with jose alone: keys from the discovered jwks_uri, RFC 9068 `typ`. */
async function verifyWithJose(
  config: client.Configuration,
  token: string,
  audience: string | string[],
  fetchImpl?: ReturnType<typeof tlsFetch>,
) {
  const metadata = config.serverMetadata()
  const jwks = createRemoteJWKSet(
    new URL(metadata.jwks_uri as string),
    fetchImpl ? { [joseFetch]: fetchImpl as never } : {},
  )
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: metadata.issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  })
  expect(protectedHeader.typ).toBe('at+jwt')
  return payload
}

/**
 * The OAuth error openid-client surfaced: RFC 6749 `error` and the HTTP status. A 401 with its
 * `WWW-Authenticate` challenge is surfaced as such, with the response to read the body from.
 */
async function oauthError(promise: Promise<unknown>) {
  try {
    await promise
  } catch (error) {
    if (error instanceof client.ResponseBodyError) return { error: error.error, status: error.status }
    if (error instanceof client.WWWAuthenticateChallengeError) {
      expect(error.cause[0]?.scheme).toBe('basic')
      const body = (await error.response.json()) as { error: string }
      return { error: body.error, status: error.status }
    }
    throw error
  }
  throw new Error('the request succeeded')
}

describe.each([
  ['at the root', ''],
  ['with a path (§3.1 metadata location)', '/tenant1'],
])('an issuer %s, discovered by openid-client', (_name, path) => {
  let fx: IssuerFixture
  let id: string
  let secret: string
  beforeAll(async () => {
    fx = await startIssuer({ failedAuthentication: { burst: 1000 } }, { at: path })
    const created = await fx.key('billing', ['orders:read', 'inventory:read'])
    id = created.record.id
    secret = created.key
  })
  afterAll(() => fx.close())

  const discover = (algorithm: 'oauth2' | 'oidc', auth: client.ClientAuth) =>
    client.discovery(new URL(fx.issuerUrl), id, undefined, auth, { ...insecure, algorithm })

  it.each(['oauth2', 'oidc'] as const)(
    'finds token_endpoint and jwks_uri under the issuer (%s discovery)',
    async (algorithm) => {
      const config = await discover(algorithm, client.ClientSecretBasic(secret))
      const metadata = config.serverMetadata()
      expect(metadata).toMatchObject({
        issuer: fx.issuerUrl,
        token_endpoint: `${fx.issuerUrl}/oauth2/token`,
        jwks_uri: `${fx.issuerUrl}/.well-known/jwks.json`,
        grant_types_supported: ['client_credentials'],
        scopes_supported: ['inventory:read', 'orders:read'],
      })
      expect(metadata).not.toHaveProperty('id_token_signing_alg_values_supported')
      const token = await client.clientCredentialsGrant(config, { resource: 'orders' })
      const payload = await verifyWithJose(config, token.access_token, 'orders')
      expect(payload).toMatchObject({ sub: 'billing', client_id: id, scope: 'inventory:read orders:read' })
    },
  )

  it('issues with client_secret_post', async () => {
    const config = await discover('oauth2', client.ClientSecretPost(secret))
    const token = await client.clientCredentialsGrant(config, {
      resource: 'inventory',
      scope: 'inventory:read',
    })
    expect(token.scope).toBe('inventory:read')
    const payload = await verifyWithJose(config, token.access_token, 'inventory')
    expect(payload.aud).toBe('inventory')
  })

  it.runIf(path !== '')('serves nothing of the issuer outside its path', async () => {
    for (const route of ['/.well-known/openid-configuration', '/.well-known/jwks.json', '/healthz']) {
      expect((await fetch(`${fx.url}${route}`)).status).toBe(404)
    }
    expect((await fetch(`${fx.url}/.well-known/oauth-authorization-server`)).status).toBe(404)
    expect((await fetch(`${fx.issuerUrl}/healthz`)).status).toBe(200)
  })

  it("is found by @callsign/jwt's own discovery", async () => {
    const config = await discover('oauth2', client.ClientSecretBasic(secret))
    const token = await client.clientCredentialsGrant(config, { resource: 'orders' })
    const verifier = jwtVerifier({ issuer: fx.issuerUrl, audience: 'orders', discovery: true })
    expect((await verifier.verifyToken(token.access_token)).id).toBe('billing')
  })

  describe('RFC 8707 resource', () => {
    it('selects several audiences when repeated', async () => {
      const config = await discover('oauth2', client.ClientSecretBasic(secret))
      const params = new URLSearchParams([
        ['resource', 'orders'],
        ['resource', 'inventory'],
      ])
      const token = await client.clientCredentialsGrant(config, params)
      const payload = await verifyWithJose(config, token.access_token, 'inventory')
      expect(payload.aud).toEqual(['orders', 'inventory'])
    })

    it('refuses a resource the issuer does not serve with invalid_target', async () => {
      const config = await discover('oauth2', client.ClientSecretBasic(secret))
      const params = new URLSearchParams([
        ['resource', 'orders'],
        ['resource', 'https://elsewhere.test/'],
      ])
      expect(await oauthError(client.clientCredentialsGrant(config, params))).toEqual({
        error: 'invalid_target',
        status: 400,
      })
    })
  })

  describe('RFC 6749 errors, as openid-client sees them', () => {
    it('invalid_client (401) for a wrong secret', async () => {
      const wrong = `${secret.slice(0, 17)}${'A'.repeat(43)}${secret.slice(60)}`
      const config = await discover('oauth2', client.ClientSecretBasic(wrong))
      expect(await oauthError(client.clientCredentialsGrant(config, { resource: 'orders' }))).toEqual({
        error: 'invalid_client',
        status: 401,
      })
    })

    it('invalid_scope (400) for a scope the client does not hold', async () => {
      const config = await discover('oauth2', client.ClientSecretBasic(secret))
      const grant = client.clientCredentialsGrant(config, { resource: 'orders', scope: 'orders:write' })
      expect(await oauthError(grant)).toEqual({ error: 'invalid_scope', status: 400 })
    })

    it('invalid_request (400) without a resource while several audiences are served', async () => {
      const config = await discover('oauth2', client.ClientSecretBasic(secret))
      expect(await oauthError(client.clientCredentialsGrant(config))).toEqual({
        error: 'invalid_request',
        status: 400,
      })
    })

    it('invalid_request (400) for both audience and resource', async () => {
      const config = await discover('oauth2', client.ClientSecretBasic(secret))
      const grant = client.clientCredentialsGrant(config, { resource: 'orders', audience: 'orders' })
      expect(await oauthError(grant)).toEqual({ error: 'invalid_request', status: 400 })
    })

    it('unsupported_grant_type (400) for another grant', async () => {
      const config = await discover('oauth2', client.ClientSecretBasic(secret))
      const grant = client.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:jwt-bearer', {
        assertion: 'e30.e30.sig',
      })
      expect(await oauthError(grant)).toEqual({ error: 'unsupported_grant_type', status: 400 })
    })
  })
})

describe('temporarily_unavailable (503), as openid-client sees it', () => {
  it('answers 503 temporarily_unavailable when the key store fails, never a token', async () => {
    const fx = await startIssuer({}, { at: '' })
    try {
      const { key, record } = await fx.key('billing', ['orders:read'])
      fx.store.find = () => Promise.reject(new Error('store down'))
      const config = await client.discovery(
        new URL(fx.issuerUrl),
        record.id,
        undefined,
        client.ClientSecretBasic(key),
        { ...insecure, algorithm: 'oauth2' },
      )
      // RFC 6749 error bodies come with 400 or 401: openid-client hands a 503 over as an unexpected
      // status, with the response to read.
      const failure = await client
        .clientCredentialsGrant(config, { resource: 'orders' })
        .catch((error) => error)
      expect(failure).toBeInstanceOf(client.ClientError)
      const response = (failure as { cause: Response }).cause
      expect(response.status).toBe(503)
      expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable' })
    } finally {
      await fx.close()
    }
  })
})

describe('tls_client_auth with openid-client (RFC 8705)', () => {
  const ORDERS = 'spiffe://mesh.local/ns/prod/sa/orders'
  let dir: string
  let fx: IssuerFixture
  let ca: ReturnType<typeof createDevCa>
  let orders: ReturnType<typeof issueServiceCertificate>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'callsign-openid-tls-'))
    ca = createDevCa({ trustDomain: 'mesh.local' })
    const server = issueServiceCertificate({
      ca,
      spiffeId: 'spiffe://mesh.local/ns/prod/sa/issuer',
      ipAddresses: ['127.0.0.1'],
    })
    orders = issueServiceCertificate({ ca, spiffeId: ORDERS })
    await writeFile(join(dir, 'ca.crt'), ca.cert)
    await writeFile(join(dir, 'tls.crt'), server.cert)
    await writeFile(join(dir, 'tls.key'), server.key, { mode: 0o600 })
    const https = tlsServerOptions({
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'tls.crt'),
      key: join(dir, 'tls.key'),
      clientCertificate: 'request',
    })
    fx = await startIssuer({ https, clients: { [ORDERS]: { scopes: ['inventory:reserve'] } } }, { at: '' })
  })
  afterAll(async () => {
    await fx.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('issues a certificate-bound token that jose verifies', async () => {
    const withCert = tlsFetch({ ca: ca.cert, cert: orders.cert, key: orders.key })
    const config = await client.discovery(new URL(fx.issuerUrl), ORDERS, undefined, client.TlsClientAuth(), {
      algorithm: 'oauth2',
      [client.customFetch]: withCert,
    })
    expect(config.serverMetadata()).toMatchObject({
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'tls_client_auth'],
      tls_client_certificate_bound_access_tokens: true,
    })
    const token = await client.clientCredentialsGrant(config, { resource: 'orders' })
    const payload = await verifyWithJose(config, token.access_token, 'orders', withCert)
    expect(payload).toMatchObject({ sub: ORDERS, client_id: ORDERS })
    expect((payload.cnf as Record<string, string>)['x5t#S256']).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('refuses without the certificate: invalid_client', async () => {
    const config = await client.discovery(new URL(fx.issuerUrl), ORDERS, undefined, client.TlsClientAuth(), {
      algorithm: 'oauth2',
      [client.customFetch]: tlsFetch({ ca: ca.cert }),
    })
    expect(await oauthError(client.clientCredentialsGrant(config, { resource: 'orders' }))).toEqual({
      error: 'invalid_client',
      status: 401,
    })
  })
})
