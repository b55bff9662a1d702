import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { privateKeyJwt, tokenCredentials } from '@callsign/client'
import { ConfigError } from '@callsign/core'
import { createIssuer } from '@callsign/issuer'
import {
  type CryptoKey,
  createRemoteJWKSet,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose'
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claims, type IssuerFixture, postToken, startIssuer } from './support/issuer-fixture.js'

// RFC 7523 §2.2 private_key_jwt: clients sign a short assertion with their own key; the issuer holds
// only their public keys (inline, in a JWKS file, or at a JWKS URL).

const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const billing = await generateKeyPair('ES256', { extractable: true })
const reports = await generateKeyPair('EdDSA', { extractable: true })
const stranger = await generateKeyPair('ES256', { extractable: true })
const publicJwk = async (key: CryptoKey, kid: string): Promise<JWK> => ({
  ...(await exportJWK(key)),
  kid,
  use: 'sig',
})

let fx: IssuerFixture
let jwksServer: Server
let jwksUri: string

beforeAll(async () => {
  const reportsJwks = { keys: [await publicJwk(reports.publicKey, 'reports-1')] }
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(reportsJwks))
  })
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`
  fx = await startIssuer(
    {
      failedAuthentication: false,
      clients: {
        billing: {
          scopes: ['orders:read'],
          jwks: { keys: [await publicJwk(billing.publicKey, 'billing-1')] },
        },
        reports: { scopes: ['orders:read', 'inventory:read'], jwksUri, audiences: ['inventory'] },
      },
    },
    { at: '/tenant1' },
  )
})
afterAll(async () => {
  await fx.close()
  await new Promise((resolve) => jwksServer.close(resolve))
})

/** An assertion as a client would sign it; `over` changes any claim or the header. */
async function assertion(
  over: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: CryptoKey } = {},
) {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: 'billing',
    sub: 'billing',
    aud: `${fx.issuerUrl}/oauth2/token`,
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
    ...over.claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'billing-1', ...over.header })
    .sign(over.key ?? billing.privateKey)
}

const tokenUrl = () => `${fx.issuerUrl}/oauth2/token`
const send = async (clientAssertion: string, extra: Record<string, string> = {}) => {
  const res = await fetch(tokenUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      resource: 'orders',
      client_assertion_type: TYPE,
      client_assertion: clientAssertion,
      ...extra,
    }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('private_key_jwt with openid-client', () => {
  it('is advertised, and issues a token that jose verifies (key registered inline)', async () => {
    const config = await client.discovery(
      new URL(fx.issuerUrl),
      'billing',
      undefined,
      client.PrivateKeyJwt(billing.privateKey, {
        [client.modifyAssertion]: (header) => {
          header.kid = 'billing-1'
        },
      }),
      { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
    )
    const metadata = config.serverMetadata()
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt')
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual([
      'ES256',
      'EdDSA',
      'Ed25519',
      'RS256',
      'PS256',
    ])
    const token = await client.clientCredentialsGrant(config, { resource: 'orders' })
    const { payload } = await jwtVerify(token.access_token, createRemoteJWKSet(new URL(metadata.jwks_uri!)), {
      issuer: fx.issuerUrl,
      audience: 'orders',
      typ: 'at+jwt',
    })
    expect(payload).toMatchObject({ sub: 'billing', client_id: 'billing', scope: 'orders:read' })
    expect(fx.audit.at(-1)).toMatchObject({ decision: 'allow', caller: 'billing', kind: 'jwt' })
  })

  it("verifies against keys fetched from the client's JWKS URL (Ed25519, as openid-client names it)", async () => {
    const config = await client.discovery(
      new URL(fx.issuerUrl),
      'reports',
      undefined,
      client.PrivateKeyJwt(reports.privateKey),
      { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
    )
    const token = await client.clientCredentialsGrant(config, { resource: 'inventory' })
    expect(token.scope).toBe('inventory:read orders:read')
  })
})

describe('audiences per client (RFC 8707 invalid_target)', () => {
  it("refuses a resource the issuer serves but this client may not have, and defaults to the client's only one", async () => {
    const config = await client.discovery(
      new URL(fx.issuerUrl),
      'reports',
      undefined,
      client.PrivateKeyJwt(reports.privateKey),
      { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
    )
    const refused = await client
      .clientCredentialsGrant(config, { resource: 'orders' })
      .catch((error) => error)
    expect(refused).toBeInstanceOf(client.ResponseBodyError)
    expect((refused as client.ResponseBodyError).error).toBe('invalid_target')
    expect(fx.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'resource_not_granted' })
    const token = await client.clientCredentialsGrant(config)
    expect(claims(token.access_token).aud).toBe('inventory')
  })
})

describe('private_key_jwt from @callsign/client', () => {
  it('signs assertions from a PEM key file, and from a private JWK file with its kid', async () => {
    const pemFile = join(fx.dir, 'billing.key.pem')
    await writeFile(pemFile, await exportPKCS8(billing.privateKey), { mode: 0o600 })
    const jwkFile = join(fx.dir, 'reports.key.json')
    await writeFile(jwkFile, JSON.stringify({ ...(await exportJWK(reports.privateKey)), kid: 'reports-1' }), {
      mode: 0o600,
    })
    const fromPem = tokenCredentials({
      tokenUrl: tokenUrl(),
      client: privateKeyJwt({ clientId: 'billing', keyFile: pemFile }),
      audience: 'orders',
    })
    const header = await fromPem.authorization()
    expect(claims(header!.slice('Bearer '.length))).toMatchObject({ sub: 'billing', aud: 'orders' })
    const fromJwk = tokenCredentials({
      tokenUrl: tokenUrl(),
      client: privateKeyJwt({ clientId: 'reports', keyFile: jwkFile }),
      audience: 'inventory',
    })
    expect(claims((await fromJwk.authorization())!.slice('Bearer '.length))).toMatchObject({ sub: 'reports' })
    expect(fx.audit.at(-1)).toMatchObject({ decision: 'allow', caller: 'reports', credentialId: 'reports-1' })
  })

  it('refuses a key file that is missing or not a private key, at startup', async () => {
    expect(() => privateKeyJwt({ clientId: 'billing', keyFile: join(fx.dir, 'none.pem') })).toThrow(
      ConfigError,
    )
    const publicFile = join(fx.dir, 'public.jwk.json')
    await writeFile(publicFile, JSON.stringify(await exportJWK(billing.publicKey)))
    expect(() => privateKeyJwt({ clientId: 'billing', keyFile: publicFile })).toThrow(/not a private key/)
  })
})

describe('private_key_jwt refusals: invalid_client, the reason in the audit log', () => {
  const refusedWith = async (reason: string, clientAssertion: string, extra?: Record<string, string>) => {
    const res = await send(clientAssertion, extra)
    expect(res).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) })
    expect(fx.audit.at(-1)).toMatchObject({ decision: 'deny', reason })
  }

  it('accepts an assertion once: a replayed jti is refused', async () => {
    const once = await assertion()
    expect((await send(once)).status).toBe(200)
    await refusedWith('assertion_replayed', once)
    // The same jti in a new assertion is a replay too.
    const jti = randomUUID()
    expect((await send(await assertion({ claims: { jti } }))).status).toBe(200)
    await refusedWith(
      'assertion_replayed',
      await assertion({ claims: { jti, exp: Math.floor(Date.now() / 1000) + 30 } }),
    )
  })

  it('accepts the issuer identifier as aud, and nothing else', async () => {
    expect((await send(await assertion({ claims: { aud: fx.issuerUrl } }))).status).toBe(200)
    await refusedWith('assertion_claims', await assertion({ claims: { aud: 'https://other.example/token' } }))
  })

  it('refuses an exp more than 5 minutes ahead, an expired one, and one without exp or jti', async () => {
    const now = Math.floor(Date.now() / 1000)
    await refusedWith('assertion_lifetime_too_long', await assertion({ claims: { exp: now + 3600 } }))
    await refusedWith('assertion_expired', await assertion({ claims: { iat: now - 600, exp: now - 300 } }))
    await refusedWith('assertion_claims', await assertion({ claims: { exp: undefined } }))
    await refusedWith('assertion_claims', await assertion({ claims: { jti: undefined } }))
  })

  it('refuses a key not registered for the client, a forged iss, and an algorithm off the allow-list', async () => {
    await refusedWith('bad_signature', await assertion({ key: stranger.privateKey }))
    await refusedWith('unknown_key', await assertion({ key: stranger.privateKey, header: { kid: 'other' } }))
    // reports' key, claiming to be billing
    await refusedWith(
      'unknown_key',
      await assertion({ key: reports.privateKey, header: { alg: 'EdDSA', kid: 'reports-1' } }),
    )
    await refusedWith('assertion_claims', await assertion({ claims: { iss: 'reports' } }))
    const secret = new TextEncoder().encode('a'.repeat(32))
    await refusedWith('alg_not_allowed', await assertion({ key: secret as never, header: { alg: 'HS256' } }))
  })

  it('refuses an unknown client, a client_id that is not the subject, and an unknown assertion type', async () => {
    await refusedWith('unknown_client', await assertion({ claims: { iss: 'ghost', sub: 'ghost' } }))
    await refusedWith('client_id_mismatch', await assertion(), { client_id: 'reports' })
    await refusedWith('unsupported_assertion_type', await assertion(), {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    })
  })

  it('refuses an assertion next to another credential as invalid_request', async () => {
    const res = await send(await assertion(), { client_id: 'billing', client_secret: 'csk_x' })
    expect(res).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_request' }) })
    const half = await postToken(fx.url.replace(/$/, '/tenant1'), {
      grant_type: 'client_credentials',
      client_assertion_type: TYPE,
    })
    expect(half.body.error).toBe('invalid_request')
  })
})

describe('private_key_jwt configuration', () => {
  const base = { issuer: 'https://issuer.test', keys: '/nonexistent', audiences: ['orders'] }

  it('reads a JWKS file, and refuses a private key, a bad file and a plain http URL off loopback', async () => {
    const dir = fx.dir
    const privateFile = join(dir, 'private.jwks.json')
    await writeFile(privateFile, JSON.stringify({ keys: [await exportJWK(billing.privateKey)] }))
    const cases: [unknown, RegExp][] = [
      [{ scopes: ['orders:read'], jwks: privateFile }, /private or secret key/],
      [{ scopes: ['orders:read'], jwks: join(dir, 'missing.json') }, /not a readable JSON file/],
      [{ scopes: ['orders:read'], jwksUri: 'http://keys.example/jwks.json' }, /https: URL/],
      [{ scopes: ['orders:read'], jwks: { keys: [] }, jwksUri }, /not both/],
      [{ scopes: ['orders:read'], jwksUri, audiences: ['billing'] }, /some of the issuer's "audiences"/],
    ]
    for (const [entry, message] of cases) {
      const attempt = createIssuer({ ...base, clients: { billing: entry } } as never)
      await expect(attempt).rejects.toThrow(ConfigError)
      await expect(attempt).rejects.toThrow(message)
    }

    const publicFile = join(dir, 'billing.jwks.json')
    await writeFile(publicFile, JSON.stringify({ keys: [await publicJwk(billing.publicKey, 'billing-1')] }))
    const fromFile = await createIssuer({
      issuer: fx.issuerUrl,
      keys: fx.keysDir,
      audiences: ['orders'],
      watchKeys: false,
      clients: { billing: { scopes: ['orders:read'], jwks: publicFile } },
    })
    try {
      const { port } = await fromFile.listen({ port: 0, host: '127.0.0.1' })
      const res = await postToken(`http://127.0.0.1:${port}/tenant1`, {
        grant_type: 'client_credentials',
        client_assertion_type: TYPE,
        client_assertion: await assertion(),
      })
      expect(res.status).toBe(200)
    } finally {
      await fromFile.close()
    }
  })
})
