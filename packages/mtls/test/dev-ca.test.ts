import { execFileSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '@callsign/core'
import { certificateThumbprint, createDevCa, issueServiceCertificate } from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { opensslVerify } from './support/openssl.js'

const DAY = 86_400_000
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-devca-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const text = (pem: string) =>
  execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' })

describe('createDevCa and issueServiceCertificate', () => {
  it('issues a certificate that openssl verifies against the CA for client and server use', async () => {
    const ca = createDevCa({ trustDomain: 'mesh.local' })
    const service = issueServiceCertificate({
      ca,
      spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing',
      dnsNames: ['billing'],
    })
    await writeFile(join(dir, 'ca.crt'), ca.cert)
    await writeFile(join(dir, 'tls.crt'), service.cert)
    expect(opensslVerify(join(dir, 'ca.crt'), join(dir, 'tls.crt'), 'sslclient')).toContain('tls.crt: OK')
    expect(opensslVerify(join(dir, 'ca.crt'), join(dir, 'tls.crt'), 'sslserver')).toContain('tls.crt: OK')
    const other = createDevCa({ trustDomain: 'mesh.local' })
    await writeFile(join(dir, 'other.crt'), other.cert)
    expect(opensslVerify(join(dir, 'other.crt'), join(dir, 'tls.crt'))).not.toContain('tls.crt: OK')
  })

  it('writes one SPIFFE URI SAN plus DNS and IP SANs, CA:FALSE, serverAuth and clientAuth, ECDSA P-256, 7 days', () => {
    const ca = createDevCa({ trustDomain: 'mesh.local' })
    const service = issueServiceCertificate({
      ca,
      spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing',
      dnsNames: ['billing', 'localhost'],
      ipAddresses: ['127.0.0.1'],
    })
    const dump = text(service.cert)
    expect(dump).toContain(
      'URI:spiffe://mesh.local/ns/prod/sa/billing, DNS:billing, DNS:localhost, IP Address:127.0.0.1',
    )
    expect(dump).toMatch(/Basic Constraints: critical\s+CA:FALSE/)
    expect(dump).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/)
    expect(dump).toMatch(/Key Usage: critical\s+Digital Signature\n/)
    expect(dump).toContain('NIST CURVE: P-256')
    expect(dump).toContain('Signature Algorithm: ecdsa-with-SHA256')
    const x509 = new X509Certificate(service.cert)
    expect(x509.ca).toBe(false)
    expect(Date.parse(x509.validTo) - Date.parse(x509.validFrom)).toBe(7 * DAY)
    expect(x509.checkIssued(new X509Certificate(ca.cert))).toBe(true)
    expect(service.thumbprint).toBe(certificateThumbprint(x509.raw))
    expect(x509.checkPrivateKey(createPrivateKey(service.key))).toBe(true)
  })

  it('makes a CA with CA:TRUE, keyCertSign and cRLSign only (no digitalSignature) and its trust domain as URI SAN', () => {
    const ca = createDevCa({ trustDomain: 'mesh.local', days: 30 })
    const dump = text(ca.cert)
    expect(dump).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/)
    expect(dump).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/)
    expect(dump).toContain('URI:spiffe://mesh.local')
    expect(new X509Certificate(ca.cert).ca).toBe(true)
  })

  it.each([
    ['::ffff:127.0.0.1', '0:0:0:0:0:FFFF:7F00:1'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['fe80::1:2', 'FE80:0:0:0:0:0:1:2'],
    ['2001:db8::192.0.2.33', '2001:DB8:0:0:0:0:C000:221'],
    ['10.0.0.7', '10.0.0.7'],
  ])('encodes the IP SAN %s as openssl reads it (%s)', (ip, shown) => {
    const ca = createDevCa({ trustDomain: 'td' })
    const service = issueServiceCertificate({ ca, spiffeId: 'spiffe://td/x', ipAddresses: [ip] })
    expect(text(service.cert)).toContain(`IP Address:${shown}\n`)
  })

  it.each([
    ['a malformed trust domain', () => createDevCa({ trustDomain: 'Mesh.Local' }), /"trustDomain"/],
    ['CA days out of range', () => createDevCa({ trustDomain: 'td', days: 0 }), /"days"/],
    [
      'service days out of range',
      (ca: ReturnType<typeof createDevCa>) =>
        issueServiceCertificate({ ca, spiffeId: 'spiffe://td/x', days: 91 }),
      /"days"/,
    ],
    [
      'a malformed SPIFFE ID',
      (ca: ReturnType<typeof createDevCa>) => issueServiceCertificate({ ca, spiffeId: 'spiffe://td/x/' }),
      /"spiffeId"/,
    ],
    [
      'an ID outside the CA trust domain',
      (ca: ReturnType<typeof createDevCa>) => issueServiceCertificate({ ca, spiffeId: 'spiffe://other/x' }),
      /does not vouch/,
    ],
    [
      'a bad DNS name',
      (ca: ReturnType<typeof createDevCa>) =>
        issueServiceCertificate({ ca, spiffeId: 'spiffe://td/x', dnsNames: ['*.td'] }),
      /"dnsNames"/,
    ],
    [
      'a bad IP address',
      (ca: ReturnType<typeof createDevCa>) =>
        issueServiceCertificate({ ca, spiffeId: 'spiffe://td/x', ipAddresses: ['1.2.3'] }),
      /"ipAddresses"/,
    ],
    [
      'an IPv6 address with a zone id',
      (ca: ReturnType<typeof createDevCa>) =>
        issueServiceCertificate({ ca, spiffeId: 'spiffe://td/x', ipAddresses: ['fe80::1%eth0'] }),
      /zone id/,
    ],
    [
      'a CA key that does not match',
      (ca: ReturnType<typeof createDevCa>) =>
        issueServiceCertificate({
          ca: { cert: ca.cert, key: createDevCa({ trustDomain: 'td' }).key },
          spiffeId: 'spiffe://td/x',
        }),
      /does not match/,
    ],
  ])('throws ConfigError for %s', (_name, make, message) => {
    const ca = createDevCa({ trustDomain: 'td' })
    expect(() => make(ca)).toThrow(ConfigError)
    expect(() => make(ca)).toThrow(message)
  })
})
