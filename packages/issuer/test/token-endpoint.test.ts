import { request as httpRequest } from 'node:http'
import { type AuthRequest, ConfigError } from '@callsign/core'
import { jwtVerifier } from '@callsign/jwt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  basic,
  claims,
  header,
  type IssuerFixture,
  postToken,
  startIssuer,
} from './support/issuer-fixture.js'

let fx: IssuerFixture
let billingKey: string
let billingId: string

beforeAll(async () => {
  // The shared issuer tolerates many failures: the rate limit has its own tests.
  fx = await startIssuer({ failedAuthentication: { burst: 10_000 } })
  const created = await fx.key('billing', ['orders:read', 'orders:write', 'inventory:read'])
  billingKey = created.key
  billingId = created.record.id
})
afterAll(() => fx.close())

const bearer = () => ({ authorization: `Bearer ${billingKey}` })
const request = (token: string): AuthRequest => ({
  transport: 'http',
  method: 'GET',
  route: '/orders/:id',
  header: (name) => (name === 'authorization' ? [`Bearer ${token}`] : []),
})

describe('issuing a token', () => {
  it('issues a 5-minute at+jwt for an API key sent as Bearer, accepted by a jwtVerifier using discovery', async () => {
    const res = await postToken(fx.url, { grant_type: 'client_credentials', audience: 'orders' }, bearer())
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 300 })
    const token = res.body.access_token as string
    const payload = claims(token)
    expect(payload).toMatchObject({
      iss: 'http://issuer.test',
      sub: 'billing',
      aud: 'orders',
      client_id: billingId,
      scope: 'inventory:read orders:read orders:write',
    })
    expect((payload.exp as number) - (payload.iat as number)).toBe(300)
    expect(header(token)).toMatchObject({ typ: 'at+jwt', kid: fx.issuer.jwks().keys[0]!.kid })

    const verifier = jwtVerifier({
      issuer: 'http://issuer.test',
      audience: 'orders',
      jwksUri: `${fx.url}/.well-known/jwks.json`,
    })
    const caller = await verifier.verify(request(token))
    expect(caller?.id).toBe('billing')
    expect([...(caller?.scopes ?? [])].sort()).toEqual(['inventory:read', 'orders:read', 'orders:write'])
  })

  it('accepts client_secret_basic (client_id = key id, client_secret = the key)', async () => {
    const res = await postToken(
      fx.url,
      { grant_type: 'client_credentials', audience: 'orders' },
      {
        authorization: basic(billingId, billingKey),
      },
    )
    expect(res.status).toBe(200)
    expect(claims(res.body.access_token as string).sub).toBe('billing')
  })

  it('accepts client_secret_post', async () => {
    const res = await postToken(fx.url, {
      grant_type: 'client_credentials',
      audience: 'orders',
      client_id: billingId,
      client_secret: billingKey,
    })
    expect(res.status).toBe(200)
  })

  it('accepts a content type with a charset parameter', async () => {
    const res = await postToken(
      fx.url,
      { grant_type: 'client_credentials', audience: 'orders' },
      {
        ...bearer(),
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      },
    )
    expect(res.status).toBe(200)
  })

  it('narrows the token to the requested scopes and reports them', async () => {
    const res = await postToken(
      fx.url,
      { grant_type: 'client_credentials', audience: 'inventory', scope: 'inventory:read' },
      bearer(),
    )
    expect(res.status).toBe(200)
    expect(res.body.scope).toBe('inventory:read')
    expect(claims(res.body.access_token as string)).toMatchObject({
      aud: 'inventory',
      scope: 'inventory:read',
    })
  })

  it('writes one audit event per token issued: allow, token_issued, caller, key id, granted scopes', async () => {
    fx.audit.length = 0
    await postToken(
      fx.url,
      { grant_type: 'client_credentials', audience: 'orders', scope: 'orders:read' },
      bearer(),
    )
    expect(fx.audit).toHaveLength(1)
    expect(fx.audit[0]).toMatchObject({
      decision: 'allow',
      reason: 'token_issued',
      caller: 'billing',
      kind: 'api-key',
      credentialId: billingId,
      scopes: ['orders:read'],
      route: '/oauth2/token',
      method: 'POST',
      remoteAddress: '127.0.0.1',
    })
    expect(JSON.stringify(fx.audit)).not.toContain(billingKey)
  })
})

describe('RFC 6749 errors, never a 500', () => {
  const cases: [string, () => Promise<Awaited<ReturnType<typeof postToken>>>, number, string][] = [
    [
      'a wrong grant type',
      () => postToken(fx.url, { grant_type: 'password', audience: 'orders' }, bearer()),
      400,
      'unsupported_grant_type',
    ],
    ['no grant type', () => postToken(fx.url, { audience: 'orders' }, bearer()), 400, 'invalid_request'],
    [
      'a scope not granted',
      () =>
        postToken(
          fx.url,
          { grant_type: 'client_credentials', audience: 'orders', scope: 'orders:read orders:admin' },
          bearer(),
        ),
      400,
      'invalid_scope',
    ],
    [
      'a malformed scope',
      () =>
        postToken(
          fx.url,
          { grant_type: 'client_credentials', audience: 'orders', scope: 'orders:*' },
          bearer(),
        ),
      400,
      'invalid_scope',
    ],
    [
      'an audience not served',
      () => postToken(fx.url, { grant_type: 'client_credentials', audience: 'payments' }, bearer()),
      400,
      'invalid_target',
    ],
    [
      'no audience when several are served',
      () => postToken(fx.url, { grant_type: 'client_credentials' }, bearer()),
      400,
      'invalid_request',
    ],
    [
      'a parameter sent twice',
      () => postToken(fx.url, 'grant_type=client_credentials&audience=orders&audience=inventory', bearer()),
      400,
      'invalid_request',
    ],
    [
      'bad percent-encoding',
      () => postToken(fx.url, 'grant_type=client_credentials&audience=%E0%A4%A', bearer()),
      400,
      'invalid_request',
    ],
    [
      'a JSON body',
      () =>
        postToken(fx.url, '{"grant_type":"client_credentials"}', {
          ...bearer(),
          'content-type': 'application/json',
        }),
      400,
      'invalid_request',
    ],
    [
      'no body',
      () =>
        fetch(`${fx.url}/oauth2/token`, { method: 'POST', headers: bearer() }).then(async (r) => ({
          status: r.status,
          headers: r.headers,
          body: (await r.json()) as Record<string, unknown>,
          text: '',
        })),
      400,
      'invalid_request',
    ],
    [
      'a 9 KiB body',
      () =>
        postToken(
          fx.url,
          `grant_type=client_credentials&audience=orders&pad=${'x'.repeat(9 * 1024)}`,
          bearer(),
        ),
      400,
      'invalid_request',
    ],
    [
      'an API key and a client_secret together',
      () =>
        postToken(
          fx.url,
          {
            grant_type: 'client_credentials',
            audience: 'orders',
            client_id: billingId,
            client_secret: billingKey,
          },
          bearer(),
        ),
      400,
      'invalid_request',
    ],
    [
      'two Authorization headers',
      () =>
        rawPost(fx.url, 'grant_type=client_credentials&audience=orders', {
          authorization: [`Bearer ${billingKey}`, `Bearer ${billingKey}`],
        }),
      400,
      'invalid_request',
    ],
    [
      'no client credential',
      () => postToken(fx.url, { grant_type: 'client_credentials', audience: 'orders' }),
      401,
      'invalid_client',
    ],
    [
      'an unknown key',
      () =>
        postToken(
          fx.url,
          { grant_type: 'client_credentials', audience: 'orders' },
          { authorization: `Bearer ${billingKey.slice(0, 4)}ZZZZZZZZZZZZ${billingKey.slice(16)}` },
        ),
      401,
      'invalid_client',
    ],
    [
      'a client_id that is not the key id',
      () =>
        postToken(fx.url, {
          grant_type: 'client_credentials',
          audience: 'orders',
          client_id: 'AAAAAAAAAAAA',
          client_secret: billingKey,
        }),
      401,
      'invalid_client',
    ],
    [
      'an unknown authorization scheme',
      () =>
        postToken(
          fx.url,
          { grant_type: 'client_credentials', audience: 'orders' },
          { authorization: 'Digest abc' },
        ),
      401,
      'invalid_client',
    ],
  ]
  for (const [situation, send, status, error] of cases) {
    it(`answers ${situation} with ${status} ${error}`, async () => {
      const res = await send()
      expect(res.status).toBe(status)
      expect(res.body.error).toBe(error)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(JSON.stringify(res.body)).not.toContain(billingKey.slice(17))
    })
  }

  it('answers a revoked key with 401 invalid_client and audits the refusal (reason revoked)', async () => {
    const { key, record } = await fx.key('shipping', ['orders:read'])
    await fx.store.revoke(record.id)
    fx.audit.length = 0
    const res = await postToken(
      fx.url,
      { grant_type: 'client_credentials', audience: 'orders' },
      { authorization: `Bearer ${key}` },
    )
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="callsign"')
    expect(fx.audit).toEqual([
      expect.objectContaining({
        decision: 'deny',
        code: 'ERR_INVALID_CREDENTIAL',
        reason: 'revoked',
        scopes: [],
      }),
    ])
  })

  it('refuses a key revoked after it was served, at its very next request, sent either way (no cache in between)', async () => {
    const { key, record } = await fx.key('returns', ['orders:read'])
    const form = { grant_type: 'client_credentials', audience: 'orders' }
    expect((await postToken(fx.url, form, { authorization: `Bearer ${key}` })).status).toBe(200)
    expect((await postToken(fx.url, form, { authorization: basic(record.id, key) })).status).toBe(200)
    await fx.store.revoke(record.id)
    fx.audit.length = 0
    const asBearer = await postToken(fx.url, form, { authorization: `Bearer ${key}` })
    const asBasic = await postToken(fx.url, form, { authorization: basic(record.id, key) })
    expect([asBearer.status, asBasic.status]).toEqual([401, 401])
    expect([asBearer.body.error, asBasic.body.error]).toEqual(['invalid_client', 'invalid_client'])
    expect(fx.audit.map((event) => [event.decision, event.reason])).toEqual([
      ['deny', 'revoked'],
      ['deny', 'revoked'],
    ])
  })

  it('challenges with Basic when a client_secret_basic authentication fails', async () => {
    const res = await postToken(
      fx.url,
      { grant_type: 'client_credentials', audience: 'orders' },
      {
        // the last character replaced by one that always differs from it
        authorization: basic(billingId, `${billingKey.slice(0, -1)}${billingKey.endsWith('x') ? 'y' : 'x'}`),
      },
    )
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="callsign"')
  })

  it('never signs a scope the client does not hold, whatever it asks for', async () => {
    const { key } = await fx.key('reporting', ['orders:read'])
    for (const scope of ['orders:write', 'orders:read orders:write', 'inventory:read']) {
      const res = await postToken(
        fx.url,
        { grant_type: 'client_credentials', audience: 'orders', scope },
        { authorization: `Bearer ${key}` },
      )
      expect(res.status).toBe(400)
      expect(res.body.access_token).toBeUndefined()
    }
  })
})

describe('discovery and keys', () => {
  it('publishes RFC 8414 metadata, the same at the OpenID location, claiming nothing it does not do', async () => {
    const res = await fetch(`${fx.url}/.well-known/oauth-authorization-server`)
    expect(res.status).toBe(200)
    const metadata = await res.json()
    expect(metadata).toEqual({
      issuer: 'http://issuer.test',
      token_endpoint: 'http://issuer.test/oauth2/token',
      jwks_uri: 'http://issuer.test/.well-known/jwks.json',
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: expect.arrayContaining(['orders:read']),
      tls_client_certificate_bound_access_tokens: false,
    })
    const openid = await fetch(`${fx.url}/.well-known/openid-configuration`)
    expect(await openid.json()).toEqual(metadata)
  })

  it('publishes public keys only in the JWKS', async () => {
    const res = await fetch(`${fx.url}/.well-known/jwks.json`)
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' })
    expect(jwks.keys[0]).not.toHaveProperty('d')
  })

  it('answers /healthz', async () => {
    const res = await fetch(`${fx.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok' })
  })
})

describe('configuration', () => {
  const base = { issuer: 'https://issuer.test', keys: '/nonexistent', audiences: ['orders'] }
  const store = { find: async () => undefined } as never
  it.each([
    ['no audiences', { ...base, store, audiences: [] }, /"audiences"/],
    ['a ttl above one hour', { ...base, store, ttl: 3601 }, /"ttl"/],
    ['an issuer that is not a URL', { ...base, store, issuer: 'issuer' }, /"issuer"/],
    ['neither store nor clients', { ...base }, /"store".*"clients"/],
    [
      'clients mixing SPIFFE IDs and DNS names',
      { ...base, clients: { 'spiffe://mesh.local/a': { scopes: ['a:b'] }, orders: { scopes: ['a:b'] } } },
      /"clients"/,
    ],
    [
      'a client with a malformed scope',
      { ...base, clients: { 'spiffe://mesh.local/a': { scopes: ['admin'] } } },
      /"clients"/,
    ],
    ['a missing key directory', { ...base, store }, /"keys"/],
  ])('refuses %s with a ConfigError naming the option', async (_name, options, message) => {
    const { createIssuer } = await import('@callsign/issuer')
    const error = await createIssuer(options as never).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(message)
  })
})

/** A POST through node:http, which can send a header twice (fetch would join the values). */
function rawPost(url: string, body: string, headers: Record<string, string | string[]>) {
  return new Promise<{ status: number; headers: Headers; body: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      const req = httpRequest(
        `${url}/oauth2/token`,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } },
        (res) => {
          let text = ''
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
          res.on('end', () => {
            const out = new Headers()
            for (const [name, value] of Object.entries(res.headers))
              if (typeof value === 'string') out.set(name, value)
            resolve({
              status: res.statusCode ?? 0,
              headers: out,
              body: JSON.parse(text) as Record<string, unknown>,
              text,
            })
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    },
  )
}
