import { spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { ConfigError } from '@callsign/core'
import {
  createDevCa,
  createRevocationList,
  type DevCa,
  issueServiceCertificate,
  mtlsVerifier,
  readRevocationList,
  tlsServerOptions,
} from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { opensslCertificate, opensslCrl } from './support/openssl.js'
import { get, startServer } from './support/servers.js'

// CRLs in tlsServerOptions: PEM or DER files made by `openssl ca -gencrl`, each signed by a CA of
// the bundle, reloaded with the rest of the TLS material and checked by the verifier.

const BILLING = 'spiffe://mesh.local/ns/prod/sa/billing'
const SVID = `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:${BILLING}`

let dir: string
let ca: DevCa
let stranger: DevCa
let revoked: { cert: string; key: string }
let kept: { cert: string; key: string }
const path = (name: string) => join(dir, name)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-crl-'))
  ca = createDevCa({ trustDomain: 'mesh.local' })
  stranger = createDevCa({ trustDomain: 'mesh.local' })
  revoked = opensslCertificate(dir, { signer: ca, extensions: SVID })
  kept = issueServiceCertificate({ ca, spiffeId: BILLING })
  const server = issueServiceCertificate({
    ca,
    spiffeId: 'spiffe://mesh.local/o',
    ipAddresses: ['127.0.0.1'],
  })
  const crl = opensslCrl(dir, ca, [revoked.cert])
  await writeFile(path('ca.crt'), ca.cert)
  await writeFile(path('tls.crt'), server.cert)
  await writeFile(path('tls.key'), server.key)
  await writeFile(path('revoking.pem'), crl.pem)
  await writeFile(path('revoking.der'), crl.der)
  await writeFile(path('empty.pem'), opensslCrl(dir, ca, []).pem)
  await writeFile(path('stranger.pem'), opensslCrl(dir, stranger, []).pem)
  await writeFile(path('garbage.crl'), 'not a CRL')
})

afterAll(() => rm(dir, { recursive: true, force: true }))

const files = (crl: string) => ({
  ca: path('ca.crt'),
  cert: path('tls.crt'),
  key: path('tls.key'),
  crl: path(crl),
  clientCertificate: 'request' as const,
  watch: false as const,
})

describe('tlsServerOptions({ crl })', () => {
  it.each(['revoking.pem', 'revoking.der'])(
    'refuses a certificate revoked by a CRL in %s with 401 (reason revoked) and accepts the others',
    async (crl) => {
      const serverTls = tlsServerOptions(files(crl))
      const verifier = mtlsVerifier({
        identity: 'spiffe',
        serverTls,
        trustDomains: ['mesh.local'],
      })
      const server = await startServer(serverTls.options, [verifier])
      try {
        // authenticated, without a grant: 403
        expect((await get(`${server.url}/whoami`, { ca: ca.cert, ...kept })).status).toBe(403)
        const reply = await get(`${server.url}/whoami`, { ca: ca.cert, ...revoked })
        expect(reply).toMatchObject({ status: 401, body: { code: 'ERR_INVALID_CREDENTIAL' } })
        expect(server.audit.at(-1)?.reason).toBe('revoked')
      } finally {
        serverTls.close()
        await server.close()
      }
    },
  )

  it('reloads the CRL with the TLS material; a bad CRL keeps the last good one and is reported', async () => {
    await copyFile(path('empty.pem'), path('live.crl'))
    const errors: ConfigError[] = []
    const serverTls = tlsServerOptions({ ...files('live.crl'), onError: (error) => errors.push(error) })
    const verifier = mtlsVerifier({ identity: 'spiffe', serverTls, trustDomains: ['mesh.local'] })
    const server = await startServer(serverTls.options, [verifier])
    try {
      // authenticated (no grant: 403) until the CRL revokes it (401)
      expect((await get(`${server.url}/whoami`, { ca: ca.cert, ...revoked })).status).toBe(403)
      await writeFile(path('live.crl'), '-----BEGIN X509 CRL-----\ntruncated')
      expect(serverTls.reload()).toBe(false)
      expect(errors[0]?.message).toMatch(/"crl" file .* holds no CRL/)
      expect((await get(`${server.url}/whoami`, { ca: ca.cert, ...revoked })).status).toBe(403)
      await copyFile(path('revoking.der'), path('live.crl'))
      expect(serverTls.reload()).toBe(true)
      expect((await get(`${server.url}/whoami`, { ca: ca.cert, ...revoked })).status).toBe(401)
    } finally {
      serverTls.close()
      await server.close()
    }
  })

  it.each([
    ['a CRL signed by a CA outside the bundle', 'stranger.pem', /is not signed by a CA of the bundle/],
    ['a file that is no CRL', 'garbage.crl', /holds no readable CRL/],
    ['a missing file', 'missing.crl', /cannot read "crl" file/],
  ])('throws ConfigError at startup for %s', (_name, crl, message) => {
    expect(() => tlsServerOptions(files(crl))).toThrow(ConfigError)
    expect(() => tlsServerOptions(files(crl))).toThrow(message)
  })
})

describe('createRevocationList and readRevocationList', () => {
  it('writes a CRL that openssl verifies and that tlsServerOptions honours; reads it back', async () => {
    const serial = new X509Certificate(kept.cert).serialNumber
    const revokedAt = new Date('2026-01-02T03:04:05Z')
    const crl = createRevocationList({ ca, revoked: [{ serial, revokedAt }], number: 7 })
    await writeFile(path('ours.crl'), crl)
    const openssl = spawnSync(
      'openssl',
      ['crl', '-in', path('ours.crl'), '-CAfile', path('ca.crt'), '-noout', '-text'],
      { encoding: 'utf8' },
    )
    expect(openssl.stderr).toContain('verify OK') // openssl exits 0 either way
    const checked = openssl.stdout
    expect(checked).toContain(`Serial Number: ${serial}`)
    expect(checked).toMatch(/X509v3 CRL Number:\s+7/)
    // read back without leading zeros (Node and openssl pad a serial to whole bytes)
    expect(readRevocationList(crl, ca.cert)).toEqual({
      number: 7,
      revoked: [{ serial: serial.replace(/^0+/, ''), revokedAt }],
    })
    expect(() => readRevocationList(crl, stranger.cert)).toThrow(/not a CRL signed by this CA/)

    const serverTls = tlsServerOptions(files('ours.crl'))
    const verifier = mtlsVerifier({ identity: 'spiffe', serverTls, trustDomains: ['mesh.local'] })
    const server = await startServer(serverTls.options, [verifier])
    try {
      expect((await get(`${server.url}/whoami`, { ca: ca.cert, ...kept })).status).toBe(401)
      expect(server.audit.at(-1)?.reason).toBe('revoked')
      expect((await get(`${server.url}/whoami`, { ca: ca.cert, ...revoked })).status).toBe(403)
    } finally {
      serverTls.close()
      await server.close()
    }
  })

  it('writes an empty CRL when nothing is revoked', () => {
    const crl = createRevocationList({ ca, revoked: [] })
    expect(readRevocationList(crl, ca.cert)).toEqual({ number: 1, revoked: [] })
  })
})

describe('tlsServerOptions({ secureContext }) and attach(server)', () => {
  it("keeps Node's own crl and maxVersion, given at creation, across reloads of an attached server", async () => {
    const serverTls = tlsServerOptions({
      ...files('empty.pem'),
      clientCertificate: 'require',
      secureContext: { maxVersion: 'TLSv1.2', crl: opensslCrl(dir, ca, [revoked.cert]).pem },
    })
    const server = createServer(serverTls.options, (_req, res) => res.end('{}'))
    serverTls.attach(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    /** The negotiated protocol, or 'refused' when the handshake refuses the client. */
    const handshake = (client: { cert: string; key: string }) =>
      new Promise<string | null>((resolve) => {
        const { port } = server.address() as AddressInfo
        const socket = connect({ host: '127.0.0.1', port, ca: ca.cert, ...client }, () => {
          resolve(socket.getProtocol())
          socket.destroy()
        })
        socket.on('error', () => resolve('refused'))
      })
    try {
      expect(await handshake(kept)).toBe('TLSv1.2')
      expect(await handshake(revoked)).toBe('refused')
      expect(serverTls.reload()).toBe(true)
      expect(await handshake(kept)).toBe('TLSv1.2')
      expect(await handshake(revoked)).toBe('refused')
    } finally {
      serverTls.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('refuses options it sets itself, invalid ones, and options passed to attach, with ConfigError', () => {
    expect(() => tlsServerOptions({ ...files('empty.pem'), secureContext: { minVersion: 'TLSv1' } })).toThrow(
      /"secureContext.minVersion" is set by tlsServerOptions/,
    )
    expect(() => tlsServerOptions({ ...files('empty.pem'), secureContext: { ca: ca.cert } })).toThrow(
      ConfigError,
    )
    expect(() =>
      tlsServerOptions({ ...files('empty.pem'), secureContext: { ciphers: 'NO-SUCH-CIPHER' } }),
    ).toThrow(/"secureContext" is not valid/)
    expect(() => tlsServerOptions({ ...files('empty.pem'), secureContext: 'x' as never })).toThrow(
      ConfigError,
    )
    const serverTls = tlsServerOptions(files('empty.pem'))
    const server = createServer(serverTls.options)
    try {
      const attach = serverTls.attach as (...args: unknown[]) => unknown
      expect(() => attach(server, { maxVersion: 'TLSv1.2' })).toThrow(/attach\(server\) takes no options/)
    } finally {
      serverTls.close()
    }
  })
})
