import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '@callsign/core'
import {
  authorizeMemberOf,
  createDevCa,
  type DevCa,
  issueServiceCertificate,
  mtlsVerifier,
  type ServerTls,
  tlsClientOptions,
  tlsServerOptions,
} from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { opensslCa, opensslCertificate } from './support/openssl.js'
import { get, startServer, type TestServer } from './support/servers.js'

// Trust domains bound to their CAs (the SPIFFE federation model: one bundle per trust domain). A
// partner CA, trusted for partner.example only, must not mint prod.example IDs; look-alike trust
// domains are not ours (401, never 403). The partner CA and most leaves are made by openssl.

const PROD_BILLING = 'spiffe://prod.example/ns/prod/sa/billing'
const PROD_ORDERS = 'spiffe://prod.example/ns/prod/sa/orders'
const PARTNER_SHOP = 'spiffe://partner.example/sa/shop'
const svid = (uri: string, usage = 'clientAuth') =>
  `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${usage}\nsubjectAltName=URI:${uri}`

let dir: string
let prodCa: DevCa
let partnerCa: { cert: string; key: string }
let serverTls: ServerTls
let server: TestServer
let leaves: Record<string, { cert: string; key: string }>
const paths = () => ({
  prod: join(dir, 'prod-ca.crt'),
  partner: join(dir, 'partner-ca.crt'),
  both: join(dir, 'both.crt'),
  cert: join(dir, 'tls.crt'),
  key: join(dir, 'tls.key'),
})

const grants = { [PROD_BILLING]: ['orders:read', 'mesh:call'], [PARTNER_SHOP]: ['mesh:call'] }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-binding-'))
  prodCa = createDevCa({ trustDomain: 'prod.example' })
  partnerCa = opensslCa(dir, 'partner.example')
  const orders = issueServiceCertificate({ ca: prodCa, spiffeId: PROD_ORDERS, ipAddresses: ['127.0.0.1'] })
  const p = paths()
  await writeFile(p.prod, prodCa.cert)
  await writeFile(p.partner, partnerCa.cert)
  await writeFile(p.both, prodCa.cert + partnerCa.cert)
  await writeFile(p.cert, orders.cert)
  await writeFile(p.key, orders.key)
  leaves = {
    prodBilling: opensslCertificate(dir, { signer: prodCa, extensions: svid(PROD_BILLING) }),
    partnerShop: opensslCertificate(dir, { signer: partnerCa, extensions: svid(PARTNER_SHOP) }),
    partnerAsProd: opensslCertificate(dir, { signer: partnerCa, extensions: svid(PROD_BILLING) }),
    lookAlike: opensslCertificate(dir, {
      signer: prodCa,
      extensions: svid('spiffe://prod.example.evil/ns/prod/sa/billing'),
    }),
    trailingDot: opensslCertificate(dir, {
      signer: prodCa,
      extensions: svid('spiffe://prod.example./ns/prod/sa/billing'),
    }),
    partnerServerAsProd: opensslCertificate(dir, {
      signer: partnerCa,
      extensions: `${svid(PROD_ORDERS, 'serverAuth')},IP:127.0.0.1`,
    }),
  }
  serverTls = tlsServerOptions({
    trustDomains: { 'prod.example': { ca: p.prod }, 'partner.example': { ca: p.partner } },
    cert: p.cert,
    key: p.key,
    clientCertificate: 'request',
    watch: false,
  })
  server = await startServer(serverTls.options, [mtlsVerifier({ identity: 'spiffe', serverTls })], grants)
})

afterAll(async () => {
  serverTls?.close()
  await server?.close()
  await rm(dir, { recursive: true, force: true })
})

const as = (name: string) => ({ ca: prodCa.cert, ...leaves[name]! })

describe('trust domains bound to their CAs (server side)', () => {
  it('accepts an ID of each trust domain from the CA bound to it', async () => {
    expect(await get(`${server.url}/orders`, as('prodBilling'))).toMatchObject({
      status: 200,
      body: { id: PROD_BILLING },
    })
    expect(await get(`${server.url}/whoami`, as('partnerShop'))).toMatchObject({
      status: 200,
      body: { id: PARTNER_SHOP },
    })
  })

  it.each([
    ['a partner-CA certificate claiming a prod.example ID', 'partnerAsProd', 'trust_domain_ca_mismatch'],
    ['a look-alike trust domain (prod.example.evil)', 'lookAlike', 'trust_domain_not_allowed'],
    [
      'a look-alike trust domain (prod.example. with a trailing dot)',
      'trailingDot',
      'trust_domain_not_allowed',
    ],
  ])(
    'refuses %s (%s) with 401 ERR_INVALID_CREDENTIAL (reason %s), never 403',
    async (_name, leaf, reason) => {
      const reply = await get(`${server.url}/orders`, as(leaf))
      expect(reply).toMatchObject({ status: 401, body: { code: 'ERR_INVALID_CREDENTIAL' } })
      expect(server.audit.at(-1)).toMatchObject({ decision: 'deny', reason })
    },
  )

  it('binds the one CA of a bundle to the one trust domain the verifier names, and refuses other trust domains', async () => {
    const implicit = tlsServerOptions({
      ca: paths().prod,
      cert: paths().cert,
      key: paths().key,
      watch: false,
    })
    const lone = await startServer(
      implicit.options,
      [
        mtlsVerifier({
          identity: 'spiffe',
          serverTls: implicit,
          trustDomains: ['prod.example'],
        }),
      ],
      { [PROD_BILLING]: ['orders:read'] },
    )
    try {
      expect((await get(`${lone.url}/orders`, as('prodBilling'))).status).toBe(200)
      expect((await get(`${lone.url}/orders`, as('lookAlike'))).status).toBe(401)
      expect(lone.audit.at(-1)?.reason).toBe('trust_domain_not_allowed')
    } finally {
      implicit.close()
      await lone.close()
    }
  })
})

describe('binding mistakes are ConfigErrors at startup', () => {
  const files = () => ({ cert: paths().cert, key: paths().key, watch: false as const })
  it.each([
    [
      'a verifier with a list of trust domains and nothing binding them',
      () => mtlsVerifier({ identity: 'spiffe', trustDomains: ['prod.example'] }),
      /"prod.example" is bound to no CA/,
    ],
    [
      'a verifier with no trust domains and no serverTls',
      () => mtlsVerifier({ identity: 'spiffe' }),
      /bound to their CAs/,
    ],
    [
      'a map entry without its ca next to one with',
      () =>
        mtlsVerifier({
          identity: 'spiffe',
          trustDomains: { 'prod.example': { ca: prodCa.cert }, 'partner.example': {} },
        }),
      /"partner.example" is bound to no CA/,
    ],
    [
      'one CA bound to two trust domains',
      () =>
        mtlsVerifier({
          identity: 'spiffe',
          trustDomains: { 'prod.example': { ca: prodCa.cert }, 'partner.example': { ca: prodCa.cert } },
        }),
      /one CA is bound to both/,
    ],
    [
      'a bundle of two CAs with no trust domain named',
      () => tlsServerOptions({ ca: paths().both, ...files() }),
      /holds 2 CA certificates but no trust domain is bound/,
    ],
    [
      'both "ca" and "trustDomains"',
      () =>
        tlsServerOptions({
          ca: paths().prod,
          trustDomains: { 'prod.example': { ca: paths().prod } },
          ...files(),
        }),
      /either "ca".*or "trustDomains"/,
    ],
    [
      'a serverTls with one unnamed CA and a verifier naming no trust domain',
      () =>
        mtlsVerifier({
          identity: 'spiffe',
          serverTls: tlsServerOptions({ ca: paths().prod, ...files() }),
        }),
      /name exactly one/,
    ],
    [
      'a serverTls with one unnamed CA and a verifier naming two trust domains',
      () =>
        mtlsVerifier({
          identity: 'spiffe',
          serverTls: tlsServerOptions({ ca: paths().prod, ...files() }),
          trustDomains: ['prod.example', 'partner.example'],
        }),
      /name exactly one/,
    ],
    [
      'a verifier naming a trust domain its serverTls does not bind',
      () =>
        mtlsVerifier({
          identity: 'spiffe',
          serverTls: tlsServerOptions({ ca: paths().prod, trustDomain: 'prod.example', ...files() }),
          trustDomains: ['partner.example'],
        }),
      /"partner.example" is bound to no CA of "serverTls"/,
    ],
    [
      'a ca in the verifier next to serverTls',
      () =>
        mtlsVerifier({
          identity: 'spiffe',
          serverTls: tlsServerOptions({ ca: paths().prod, trustDomain: 'prod.example', ...files() }),
          trustDomains: { 'prod.example': { ca: prodCa.cert } },
        }),
      /bind CAs to trust domains in tlsServerOptions/,
    ],
    [
      'serverTls that is not from tlsServerOptions',
      () => mtlsVerifier({ identity: 'spiffe', serverTls: {} as ServerTls }),
      /"serverTls" must be the result of tlsServerOptions/,
    ],
    [
      'a client with a serverId and a bundle of two unbound CAs',
      () => tlsClientOptions({ ca: paths().both, ...files(), serverId: PROD_ORDERS }),
      /holds 2 CA certificates but no trust domain is bound/,
    ],
    [
      "a client whose serverId's trust domain is bound to no CA",
      () =>
        tlsClientOptions({
          trustDomains: { 'partner.example': { ca: paths().partner } },
          ...files(),
          serverId: PROD_ORDERS,
        }),
      /"prod.example", is bound to no CA/,
    ],
    [
      'a client with an authorizer as serverId and no named trust domain',
      () => tlsClientOptions({ ca: paths().prod, ...files(), serverId: authorizeMemberOf('prod.example') }),
      /with an authorizer as "serverId", bind/,
    ],
  ])('throws for %s', (_name, make, message) => {
    expect(make).toThrow(ConfigError)
    expect(make).toThrow(message)
  })
})

describe('trust domains bound to their CAs (client side)', () => {
  let https: Server
  let url: string
  beforeAll(async () => {
    const first = issueServiceCertificate({ ca: prodCa, spiffeId: PROD_ORDERS, ipAddresses: ['127.0.0.1'] })
    https = createServer(first, (_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/`
  })
  afterAll(async () => {
    https.closeAllConnections()
    await new Promise((resolve) => https.close(resolve))
  })
  const serve = (identity: { cert: string; key: string }) => https.setSecureContext(identity)
  const federated = () =>
    tlsClientOptions({
      trustDomains: { 'prod.example': { ca: paths().prod }, 'partner.example': { ca: paths().partner } },
      cert: paths().cert,
      key: paths().key,
      serverId: PROD_ORDERS,
      watch: false,
    })

  it('accepts the prod server from the prod CA', async () => {
    serve(issueServiceCertificate({ ca: prodCa, spiffeId: PROD_ORDERS, ipAddresses: ['127.0.0.1'] }))
    expect((await get(url, federated().options)).status).toBe(200)
  })

  it("refuses a partner-CA server claiming the prod server's ID (ERR_TLS_CERT_ALTNAME_INVALID)", async () => {
    serve(leaves.partnerServerAsProd!)
    await expect(get(url, federated().options)).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    })
  })
})
