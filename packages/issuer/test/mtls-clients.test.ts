import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mtlsAgent, tokenCredentials } from '@callsign/client'
import {
  createDevCa,
  issueServiceCertificate,
  type ServiceCertificate,
  tlsServerOptions,
} from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claims, type IssuerFixture, startIssuer } from './support/issuer-fixture.js'

const ORDERS = 'spiffe://mesh.local/ns/prod/sa/orders'
let dir: string
let ca: ReturnType<typeof createDevCa>
let orders: ServiceCertificate
let stranger: ServiceCertificate
let fx: IssuerFixture
let apiKey: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-issuer-tls-'))
  ca = createDevCa({ trustDomain: 'mesh.local' })
  const server = issueServiceCertificate({
    ca,
    spiffeId: 'spiffe://mesh.local/ns/prod/sa/issuer',
    ipAddresses: ['127.0.0.1'],
  })
  orders = issueServiceCertificate({ ca, spiffeId: ORDERS })
  stranger = issueServiceCertificate({ ca, spiffeId: 'spiffe://mesh.local/ns/prod/sa/stranger' })
  await writeFile(join(dir, 'ca.crt'), ca.cert)
  await writeFile(join(dir, 'tls.crt'), server.cert)
  await writeFile(join(dir, 'tls.key'), server.key, { mode: 0o600 })
  await writeFile(join(dir, 'orders.crt'), orders.cert)
  await writeFile(join(dir, 'orders.key'), orders.key, { mode: 0o600 })
  const https = tlsServerOptions({
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
    clientCertificate: 'request',
  })
  fx = await startIssuer({
    https,
    clients: { [ORDERS]: { scopes: ['inventory:reserve', 'inventory:read'] } },
    failedAuthentication: { burst: 1000 },
  })
  apiKey = (await fx.key('billing', ['orders:read'])).key
})
afterAll(async () => {
  await fx.close()
  await rm(dir, { recursive: true, force: true })
})

function post(
  body: Record<string, string>,
  options: { cert?: ServiceCertificate; authorization?: string; url?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${options.url ?? fx.url}/oauth2/token`,
      {
        method: 'POST',
        ca: ca.cert,
        ...(options.cert ? { cert: options.cert.cert, key: options.cert.key } : {}),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(options.authorization ? { authorization: options.authorization } : {}),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end(new URLSearchParams(body).toString())
  })
}

describe('tls_client_auth (RFC 8705)', () => {
  const form = { grant_type: 'client_credentials', audience: 'inventory' }

  it('issues a certificate-bound token (cnf.x5t#S256 = the certificate thumbprint) to a registered SPIFFE ID', async () => {
    fx.audit.length = 0
    const res = await post({ ...form, client_id: ORDERS }, { cert: orders })
    expect(res.status).toBe(200)
    expect(claims(res.body.access_token as string)).toMatchObject({
      sub: ORDERS,
      client_id: ORDERS,
      scope: 'inventory:read inventory:reserve',
      cnf: { 'x5t#S256': orders.thumbprint },
    })
    expect(fx.audit).toEqual([
      expect.objectContaining({ decision: 'allow', kind: 'mtls', credentialId: orders.thumbprint }),
    ])
  })

  it('refuses a client_id that is not the certificate identity with 401 invalid_client', async () => {
    const res = await post({ ...form, client_id: 'spiffe://mesh.local/ns/prod/sa/billing' }, { cert: orders })
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
  })

  it('refuses a valid certificate whose identity is not a registered client with 401 invalid_client', async () => {
    const res = await post({ ...form, client_id: stranger.spiffeId }, { cert: stranger })
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
  })

  it('refuses a certificate from another CA with 401 invalid_client, never a 500', async () => {
    const other = issueServiceCertificate({
      ca: createDevCa({ trustDomain: 'mesh.local' }),
      spiffeId: ORDERS,
    })
    const res = await post({ ...form, client_id: ORDERS }, { cert: other })
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
  })

  it('still serves API key clients without a certificate on the same HTTPS listener', async () => {
    const res = await post(
      { grant_type: 'client_credentials', audience: 'orders' },
      { authorization: `Bearer ${apiKey}` },
    )
    expect(res.status).toBe(200)
    expect(claims(res.body.access_token as string)).not.toHaveProperty('cnf')
  })

  it('refuses client_id without a certificate with 401 invalid_client', async () => {
    const res = await post({ ...form, client_id: ORDERS })
    expect(res.status).toBe(401)
    expect(res.body.error).toBe('invalid_client')
  })

  it('serves @callsign/client tokenCredentials over its mTLS agent a token bound to that certificate', async () => {
    const agent = mtlsAgent({
      cert: join(dir, 'orders.crt'),
      key: join(dir, 'orders.key'),
      ca: join(dir, 'ca.crt'),
      watch: false,
    })
    try {
      const tokens = tokenCredentials({
        tokenUrl: `${fx.url}/oauth2/token`,
        client: agent,
        clientId: ORDERS,
        audience: 'inventory',
        scope: ['inventory:reserve'],
      })
      const authorization = (await tokens.authorization())!
      expect(claims(authorization.slice('Bearer '.length))).toMatchObject({
        sub: ORDERS,
        scope: 'inventory:reserve',
        cnf: { 'x5t#S256': orders.thumbprint },
      })
    } finally {
      await agent.close()
    }
  })
})

describe('tls_client_auth with DNS-named clients', () => {
  it('authenticates a registered DNS name and issues exactly its registered scopes, never more', async () => {
    const https = tlsServerOptions({
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'tls.crt'),
      key: join(dir, 'tls.key'),
      clientCertificate: 'request',
      watch: false,
    })
    const named = await startIssuer({ https, clients: { 'orders.internal': { scopes: ['inventory:read'] } } })
    try {
      const cert = issueServiceCertificate({ ca, spiffeId: ORDERS, dnsNames: ['orders.internal'] })
      const form = { grant_type: 'client_credentials', audience: 'inventory', client_id: 'orders.internal' }
      const res = await post(form, { cert, url: named.url })
      expect(res.status).toBe(200)
      expect(claims(res.body.access_token as string)).toMatchObject({
        sub: 'orders.internal',
        scope: 'inventory:read',
      })
      const wider = await post({ ...form, scope: 'inventory:reserve' }, { cert, url: named.url })
      expect(wider).toMatchObject({ status: 400, body: { error: 'invalid_scope' } })
      const unnamed = await post(form, { cert: orders, url: named.url }) // no DNS SAN registered
      expect(unnamed).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
    } finally {
      await named.close()
      https.close()
    }
  })
})
