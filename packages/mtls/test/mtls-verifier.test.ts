import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TlsOptions } from 'node:tls'
import { ConfigError } from '@callsign/core'
import {
  authorizePathPrefix,
  certificateThumbprint,
  createDevCa,
  type DevCa,
  issueServiceCertificate,
  mtlsVerifier,
} from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { opensslCertificate } from './support/openssl.js'
import { get, startServer, type TestServer } from './support/servers.js'

const DAY = 86_400_000
const SVID_EXT = (uri: string, extra = '') =>
  `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:${uri}${extra}`

let dir: string
let caA: DevCa // mesh.local
let caB: DevCa // other.local
let caC: DevCa // third.local: trusted by the handshake, not by the verifier
let caX: DevCa // mesh.local too, but nobody trusts it
let serverCert: { cert: string; key: string }
let clients: Record<string, { cert: string; key: string }>
let requestMode: TestServer
let requireMode: TestServer
const clock = { now: () => Date.now() }

const verifier = () =>
  mtlsVerifier({
    identity: 'spiffe',
    trustDomains: { 'mesh.local': { ca: caA.cert }, 'other.local': { ca: caB.cert } },
    clock,
  })
/** The test servers' policy grants: the verifier authenticates, the policy grants. */
const grants = {
  'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read', 'mesh:call'],
  'spiffe://mesh.local/ns/prod/sa/shipping': ['mesh:call'],
}

function serverTls(mode: 'require' | 'request'): TlsOptions {
  return {
    ca: [caA.cert, caB.cert, caC.cert],
    cert: serverCert.cert,
    key: serverCert.key,
    requestCert: true,
    rejectUnauthorized: mode === 'require',
    minVersion: 'TLSv1.2',
  }
}

/** mesh.local bound to CA A (evaluated when a test runs, after beforeAll). */
const bound = () => ({ 'mesh.local': { ca: caA.cert } })

const as = (name: string) => ({ ca: caA.cert, ...clients[name]! })

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-mtls-'))
  caA = createDevCa({ trustDomain: 'mesh.local' })
  caB = createDevCa({ trustDomain: 'other.local' })
  caC = createDevCa({ trustDomain: 'third.local' })
  caX = createDevCa({ trustDomain: 'mesh.local' })
  serverCert = issueServiceCertificate({
    ca: caA,
    spiffeId: 'spiffe://mesh.local/ns/prod/sa/orders',
    ipAddresses: ['127.0.0.1'],
  })
  const now = Date.now()
  clients = {
    billing: issueServiceCertificate({ ca: caA, spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing' }),
    ungranted: issueServiceCertificate({ ca: caA, spiffeId: 'spiffe://mesh.local/ns/prod/sa/intruder' }),
    opensslShipping: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/shipping'),
    }),
    selfSigned: opensslCertificate(dir, {
      signer: 'self',
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/billing'),
    }),
    otherCa: issueServiceCertificate({ ca: caX, spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing' }),
    expired: issueServiceCertificate({
      ca: caA,
      spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing',
      notBefore: new Date(now - 10 * DAY),
      notAfter: new Date(now - DAY),
    }),
    notYetValid: issueServiceCertificate({
      ca: caA,
      spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing',
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 2 * DAY),
    }),
    caAsClient: { cert: caA.cert, key: caA.key },
    intermediateAsClient: opensslCertificate(dir, {
      signer: caA,
      extensions:
        'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://mesh.local/ns/prod/sa/billing',
    }),
    serverAuthOnly: opensslCertificate(dir, {
      signer: caA,
      extensions:
        'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=URI:spiffe://mesh.local/ns/prod/sa/billing',
    }),
    noEku: opensslCertificate(dir, {
      signer: caA,
      extensions:
        'basicConstraints=critical,CA:FALSE\nsubjectAltName=URI:spiffe://mesh.local/ns/prod/sa/billing',
    }),
    noUri: opensslCertificate(dir, {
      signer: caA,
      subject: '/CN=spiffe:\\/\\/mesh.local\\/ns\\/prod\\/sa\\/billing',
      extensions:
        'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:billing',
    }),
    twoUris: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT(
        'spiffe://mesh.local/ns/prod/sa/billing',
        ',URI:spiffe://mesh.local/ns/prod/sa/admin',
      ),
    }),
    upperCaseDomain: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://Mesh.Local/ns/prod/sa/billing'),
    }),
    dotSegment: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://mesh.local/ns/../sa/billing'),
    }),
    withPort: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://mesh.local:8443/ns/prod/sa/billing'),
    }),
    httpsUri: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('https://mesh.local/ns/prod/sa/billing'),
    }),
    domainNotAllowed: issueServiceCertificate({
      ca: caC,
      spiffeId: 'spiffe://third.local/ns/prod/sa/billing',
    }),
    crossDomain: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://other.local/ns/prod/sa/billing'),
    }),
    otherDomain: issueServiceCertificate({ ca: caB, spiffeId: 'spiffe://other.local/ns/prod/sa/billing' }),
    leafKeyCertSign: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/billing').replace(
        'digitalSignature',
        'digitalSignature,keyCertSign',
      ),
    }),
    leafCrlSign: opensslCertificate(dir, {
      signer: caA,
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/billing').replace(
        'digitalSignature',
        'digitalSignature,cRLSign',
      ),
    }),
    rsa1024: opensslCertificate(dir, {
      signer: caA,
      keyType: 'rsa:1024',
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/billing').replace(
        'digitalSignature',
        'digitalSignature,keyEncipherment',
      ),
    }),
    p224: opensslCertificate(dir, {
      signer: caA,
      keyType: 'ec:secp224r1',
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/billing'),
    }),
    rsa2048: opensslCertificate(dir, {
      signer: caA,
      keyType: 'rsa:2048',
      extensions: SVID_EXT('spiffe://mesh.local/ns/prod/sa/billing').replace(
        'digitalSignature',
        'digitalSignature,keyEncipherment',
      ),
    }),
  }
  requestMode = await startServer(serverTls('request'), [verifier()], grants)
  requireMode = await startServer(serverTls('require'), [verifier()], grants)
})

afterAll(async () => {
  await requestMode?.close()
  await requireMode?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('mtlsVerifier over a real TLS connection', () => {
  it('accepts a certificate of the project CA: id from the SPIFFE URI SAN, scopes from the policy grants, credentialId the RFC 8705 thumbprint', async () => {
    const reply = await get(`${requestMode.url}/orders`, as('billing'))
    expect(reply.status).toBe(200)
    const der = new X509Certificate(clients.billing!.cert).raw
    expect(reply.body).toEqual({
      id: 'spiffe://mesh.local/ns/prod/sa/billing',
      scopes: ['orders:read', 'mesh:call'],
      credentialId: certificateThumbprint(der),
    })
    expect(reply.body.credentialId).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(requestMode.audit.at(-1)).toMatchObject({
      decision: 'allow',
      kind: 'mtls',
      credentialId: reply.body.credentialId,
    })
  })

  it('accepts an RSA-2048 leaf made by the openssl command (the key-size floor)', async () => {
    const reply = await get(`${requestMode.url}/orders`, as('rsa2048'))
    expect(reply).toMatchObject({ status: 200, body: { id: 'spiffe://mesh.local/ns/prod/sa/billing' } })
  })

  it('accepts a certificate made by the openssl command (interoperability)', async () => {
    const reply = await get(`${requireMode.url}/whoami`, as('opensslShipping'))
    expect(reply.status).toBe(200)
    expect(reply.body.id).toBe('spiffe://mesh.local/ns/prod/sa/shipping')
  })

  it('authenticates an identity without a grant with no scopes: 403 ERR_INSUFFICIENT_SCOPE', async () => {
    const reply = await get(`${requestMode.url}/orders`, as('ungranted'))
    expect(reply.status).toBe(403)
    expect(reply.body.code).toBe('ERR_INSUFFICIENT_SCOPE')
    expect(requestMode.audit.at(-1)).toMatchObject({
      caller: 'spiffe://mesh.local/ns/prod/sa/intruder',
      reason: 'scope_missing',
    })
  })

  it("accepts an id of another allowed trust domain signed by that domain's CA", async () => {
    const reply = await get(`${requestMode.url}/healthz`, as('otherDomain'))
    expect(reply.status).toBe(200)
    const scoped = await get(`${requestMode.url}/whoami`, as('otherDomain'))
    expect(scoped.status).toBe(403)
  })

  it('answers 401 ERR_NO_CREDENTIAL when a client sends no certificate to a server that only requests one', async () => {
    const reply = await get(`${requestMode.url}/orders`, { ca: caA.cert })
    expect(reply.status).toBe(401)
    expect(reply.body.code).toBe('ERR_NO_CREDENTIAL')
  })

  it('works out the identity once per TLS connection, not once per request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ...as('billing') })
    try {
      let connections = 0
      const count = () => connections++
      requestMode.server.on('secureConnection', count)
      const before = requestMode.reads.count
      for (let i = 0; i < 4; i++) {
        expect((await get(`${requestMode.url}/orders`, as('billing'), agent)).status).toBe(200)
        await new Promise((resolve) => setImmediate(resolve)) // let the socket go back to the pool
      }
      requestMode.server.off('secureConnection', count)
      expect({ connections, reads: requestMode.reads.count - before }).toEqual({ connections: 1, reads: 1 })
    } finally {
      agent.destroy()
    }
  })

  it('refuses with 401 (reason expired) a certificate that expires while its connection stays open', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ...as('billing') })
    try {
      expect((await get(`${requestMode.url}/orders`, as('billing'), agent)).status).toBe(200)
      clock.now = () => Date.now() + 30 * DAY
      const reply = await get(`${requestMode.url}/orders`, as('billing'), agent)
      expect(reply.status).toBe(401)
      expect(requestMode.audit.at(-1)?.reason).toBe('expired')
    } finally {
      clock.now = () => Date.now()
      agent.destroy()
    }
  })
})

// [client, reason when the server only requests a certificate, refused by the handshake when it requires one]
const BAD: readonly (readonly [string, string, boolean])[] = [
  ['selfSigned', 'self_signed', true],
  ['otherCa', 'unknown_ca', true],
  ['expired', 'expired', true],
  ['notYetValid', 'not_yet_valid', true],
  ['serverAuthOnly', 'wrong_purpose', true],
  // the dev CA has no digitalSignature key usage (X509-SVID Appendix A): the handshake refuses it
  ['caAsClient', 'wrong_purpose', true],
  ['intermediateAsClient', 'leaf_is_ca', false],
  ['noEku', 'no_client_auth_eku', false],
  ['noUri', 'no_spiffe_id', false],
  ['twoUris', 'several_uri_sans', false],
  ['upperCaseDomain', 'bad_spiffe_id', false],
  ['dotSegment', 'bad_spiffe_id', false],
  ['withPort', 'bad_spiffe_id', false],
  ['httpsUri', 'bad_spiffe_id', false],
  ['domainNotAllowed', 'trust_domain_not_allowed', false],
  ['crossDomain', 'trust_domain_ca_mismatch', false],
  ['leafKeyCertSign', 'leaf_key_cert_sign', false],
  ['leafCrlSign', 'leaf_crl_sign', false],
  ['rsa1024', 'weak_key', false],
]

describe('the bad-certificate table', () => {
  it.each(BAD)(
    'refuses %s with 401 ERR_INVALID_CREDENTIAL (reason %s) when the server only requests a certificate',
    async (name, reason) => {
      const reply = await get(`${requestMode.url}/orders`, as(name))
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('ERR_INVALID_CREDENTIAL')
      expect(requestMode.audit.at(-1)).toMatchObject({
        decision: 'deny',
        code: 'ERR_INVALID_CREDENTIAL',
        reason,
      })
    },
  )

  it.each(BAD)(
    'refuses %s in the handshake or with 401 when the server requires a certificate (reason %s)',
    async (name, reason, handshake) => {
      const outcome = await get(`${requireMode.url}/orders`, as(name)).catch((error: Error) => error)
      if (handshake) {
        expect(outcome).toBeInstanceOf(Error)
      } else {
        expect(outcome).toMatchObject({ status: 401, body: { code: 'ERR_INVALID_CREDENTIAL' } })
        expect(requireMode.audit.at(-1)?.reason).toBe(reason)
      }
    },
  )

  it('refuses a connection without a client certificate in the handshake when the server requires one', async () => {
    await expect(get(`${requireMode.url}/orders`, { ca: caA.cert })).rejects.toThrow()
  })
})

describe('mtlsVerifier options', () => {
  it('takes the identity from a configured DNS SAN with identity dns, never from another SAN or the CN', async () => {
    const dns = mtlsVerifier({ identity: 'dns', dnsNames: ['billing'] })
    const server = await startServer(serverTls('request'), [dns], { billing: ['orders:read'] })
    try {
      const named = issueServiceCertificate({
        ca: caA,
        spiffeId: 'spiffe://mesh.local/ns/prod/sa/x',
        dnsNames: ['billing', 'localhost'],
      })
      const ok = await get(`${server.url}/orders`, { ca: caA.cert, ...named })
      expect(ok).toMatchObject({ status: 200, body: { id: 'billing', scopes: ['orders:read'] } })
      const unnamed = await get(`${server.url}/orders`, as('noUri')) // no URI SAN; its one DNS SAN is billing
      expect(unnamed.status).toBe(200)
      // CN=billing (the last path segment) but DNS SAN shipping: the CN is never an identity
      const other = issueServiceCertificate({
        ca: caA,
        spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing',
        dnsNames: ['shipping'],
      })
      const refused = await get(`${server.url}/orders`, { ca: caA.cert, ...other })
      expect(refused.status).toBe(401)
      expect(server.audit.at(-1)?.reason).toBe('no_dns_identity')
    } finally {
      await server.close()
    }
  })

  it("gives an mTLS caller the scopes of the policy's authorizer grants, matching path prefixes on segment boundaries", async () => {
    const mtls = mtlsVerifier({ identity: 'spiffe', trustDomains: { 'mesh.local': { ca: caA.cert } } })
    const server = await startServer(
      serverTls('request'),
      [mtls],
      [
        { to: authorizePathPrefix('spiffe://mesh.local/ns/prod/sa/bill'), scopes: ['orders:read'] },
        { to: authorizePathPrefix('spiffe://mesh.local/ns/prod'), scopes: ['mesh:call'] },
      ],
    )
    try {
      const reply = await get(`${server.url}/whoami`, as('billing'))
      expect(reply).toMatchObject({ status: 200, body: { scopes: ['mesh:call'] } })
    } finally {
      await server.close()
    }
  })

  it.each([
    ['an unknown identity', { identity: 'cn' }, /"identity"/],
    [
      'grants (they belong to the policy)',
      () => ({ identity: 'spiffe', trustDomains: bound(), grants: { 'spiffe://mesh.local/x': ['a:b'] } }),
      /"grants" belong to the policy: definePolicy\(\{ grants \}\)/,
    ],
    [
      'empty grants (they belong to the policy)',
      () => ({ identity: 'spiffe', trustDomains: bound(), grants: {} }),
      /"grants" belong to the policy: definePolicy\(\{ grants \}\)/,
    ],
    ['a malformed trust domain', { identity: 'spiffe', trustDomains: ['Mesh.Local'] }, /not a trust domain/],
    ['an empty trust domain list', { identity: 'spiffe', trustDomains: [] }, /at least one/],
    ['dns identity without names', { identity: 'dns' }, /identity 'dns' needs "dnsNames"/],
    ['dns identity with no names', { identity: 'dns', dnsNames: [] }, /identity 'dns' needs "dnsNames"/],
    [
      'trust domains with dns identity',
      { identity: 'dns', trustDomains: ['td'], dnsNames: ['a'] },
      /"trustDomains" applies only/,
    ],
    ['dns names with spiffe identity', { identity: 'spiffe', dnsNames: ['a'] }, /"dnsNames" applies only/],
  ])('throws ConfigError at startup for %s', (_name, given, message) => {
    const options = typeof given === 'function' ? given() : given
    expect(() => mtlsVerifier(options as never)).toThrow(ConfigError)
    expect(() => mtlsVerifier(options as never)).toThrow(message)
  })

  it('throws ConfigError when a trust domain\'s "ca" is not a CA certificate', () => {
    expect(() =>
      mtlsVerifier({
        identity: 'spiffe',
        trustDomains: { 'mesh.local': { ca: clients.billing!.cert } },
      }),
    ).toThrow(/"trustDomains.mesh.local.ca" holds a certificate that is not a CA/)
  })

  it('refuses an EC leaf below P-256 (P-224, made by openssl) with reason weak_key', async () => {
    // Node's TLS cannot complete a handshake with a P-224 client key (no signature algorithm for
    // it), so this rule is defence in depth: the TLS peer is built by hand, authorized as a
    // handshake with our CA would leave it.
    const p224 = new X509Certificate(clients.p224!.cert)
    const tls = { authorized: true, peerCertificateChain: () => [p224.raw], connection: {} }
    const request = { transport: 'http' as const, method: 'GET', route: '/', header: () => [], tls }
    expect(() => verifier().verify(request)).toThrow(expect.objectContaining({ reason: 'weak_key' }))
  })

  it("authenticates only: the caller it gives holds no scopes (the pipeline adds the policy's grants)", async () => {
    const leaf = new X509Certificate(clients.billing!.cert)
    const tls = { authorized: true, peerCertificateChain: () => [leaf.raw], connection: {} }
    const request = { transport: 'http' as const, method: 'GET', route: '/', header: () => [], tls }
    const caller = await verifier().verify(request)
    expect(caller).toMatchObject({ id: 'spiffe://mesh.local/ns/prod/sa/billing', kind: 'mtls' })
    expect(caller?.scopes.size).toBe(0)
  })

  it('returns null for a request that did not come over TLS', async () => {
    const caller = await verifier().verify({ transport: 'http', method: 'GET', route: '/', header: () => [] })
    expect(caller).toBeNull()
  })
})

export type { DevCa }
