import { execFileSync, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { certificateThumbprint, createDevCa, issueServiceCertificate } from '@callsign/mtls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-certs-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('callsign certs', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('init, issue and inspect: a Kubernetes-style TLS secret that openssl verifies, key files mode 0600', async () => {
    const out = join(dir, 'flow')
    const init = await runCli(['certs', 'init', '--trust-domain', 'shop.internal', '--dir', out])
    expect(init.code).toBe(0)
    expect(init.stderr).toContain('trust domain shop.internal')
    const issue = await runCli([
      'certs',
      'issue',
      'billing',
      '--dir',
      out,
      '--days',
      '3',
      '--namespace',
      'prod',
    ])
    expect(issue.code).toBe(0)
    expect(issue.stderr).toContain('Issued spiffe://shop.internal/ns/prod/sa/billing')
    expect(issue.stdout).toBe('') // status goes to stderr: stdout carries only a command's output

    expect((await stat(join(out, 'ca', 'ca.key'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(out, 'billing', 'tls.key'))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(out, 'billing', 'ca.crt'), 'utf8')).toBe(
      await readFile(join(out, 'ca', 'ca.crt'), 'utf8'),
    )
    const verified = execFileSync(
      'openssl',
      [
        'verify',
        '-purpose',
        'sslclient',
        '-CAfile',
        join(out, 'billing', 'ca.crt'),
        join(out, 'billing', 'tls.crt'),
      ],
      { encoding: 'utf8' },
    )
    expect(verified).toContain(': OK')
    const certificate = new X509Certificate(await readFile(join(out, 'billing', 'tls.crt')))
    expect(certificate.subjectAltName).toBe(
      'URI:spiffe://shop.internal/ns/prod/sa/billing, DNS:billing, DNS:localhost, IP Address:127.0.0.1',
    )
    expect(Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)).toBe(3 * 86_400_000)

    const inspect = await runCli(['certs', 'inspect', join(out, 'billing', 'tls.crt'), '--json'])
    expect(inspect.code).toBe(0)
    const { schema, certificates } = JSON.parse(inspect.stdout)
    expect(schema).toBe('callsign.certs.inspect/v1')
    expect(certificates).toHaveLength(1)
    expect(certificates[0]).toMatchObject({
      spiffeIds: ['spiffe://shop.internal/ns/prod/sa/billing'],
      ca: false,
      extendedKeyUsage: ['serverAuth', 'clientAuth'],
      publicKey: 'ec prime256v1',
      status: 'valid',
      thumbprint: certificateThumbprint(certificate.raw),
    })
    const text = await runCli(['certs', 'inspect', join(out, 'ca', 'ca.crt')])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/CA\s+yes/)
  })

  it('refuses to replace an existing CA without --force (exit 1)', async () => {
    const out = join(dir, 'twice')
    expect((await runCli(['certs', 'init', '--dir', out])).code).toBe(0)
    const again = await runCli(['certs', 'init', '--dir', out])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
  })

  it('exits 1 telling to run init when there is no CA, and 2 for a service name that is not a DNS label', async () => {
    const missing = await runCli(['certs', 'issue', 'billing', '--dir', join(dir, 'nothing')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('callsign certs init')
    const bad = await runCli(['certs', 'issue', '../etc', '--dir', join(dir, 'nothing')])
    expect(bad.code).toBe(2)
  })

  it('inspect exits 1 and says EXPIRED for an expired certificate', async () => {
    const ca = createDevCa({ trustDomain: 'mesh.local' })
    const old = issueServiceCertificate({
      ca,
      spiffeId: 'spiffe://mesh.local/x',
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    })
    await writeFile(join(dir, 'old.crt'), old.cert)
    const result = await runCli(['certs', 'inspect', join(dir, 'old.crt')])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('EXPIRED')
  })

  it('prints help to stdout and exits 0 for certs and each subcommand (its own help)', async () => {
    const group = await runCli(['certs', '--help'])
    expect(group.code).toBe(0)
    expect(group.stdout).toMatch(/^Usage: callsign certs <subcommand>/)
    for (const sub of ['init', 'issue', 'inspect', 'revoke', 'list'])
      expect(group.stdout).toContain(`  ${sub} `)
    for (const sub of ['init', 'issue', 'inspect', 'revoke', 'list']) {
      const result = await runCli(['certs', sub, '--help'])
      expect(result.code, sub).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`^Usage: callsign certs ${sub}`))
    }
  })
})

describe('callsign certs revoke and list', () => {
  it('revokes a service certificate into the CA revocation list (openssl verifies it) and lists the state', async () => {
    const out = join(dir, 'revoke')
    expect((await runCli(['certs', 'init', '--trust-domain', 'mesh.local', '--dir', out])).code).toBe(0)
    for (const service of ['billing', 'orders']) {
      expect((await runCli(['certs', 'issue', service, '--dir', out])).code).toBe(0)
    }
    const serial = (service: string) =>
      new X509Certificate(readFileSync(join(out, service, 'tls.crt'))).serialNumber.replace(/^0+/, '')

    const revoked = await runCli(['certs', 'revoke', 'billing', '--dir', out])
    expect(revoked.code).toBe(0)
    expect(revoked.stderr).toContain(
      `Revoked billing (spiffe://mesh.local/ns/default/sa/billing), serial ${serial('billing')}`,
    )
    const crl = spawnSync(
      'openssl',
      ['crl', '-in', join(out, 'crl', 'ca.crl'), '-CAfile', join(out, 'ca', 'ca.crt'), '-noout', '-text'],
      { encoding: 'utf8' },
    )
    expect(crl.stderr).toContain('verify OK')
    // openssl pads a serial to whole bytes (a leading 0); ours carry no leading zeros
    expect(crl.stdout).toMatch(new RegExp(`Serial Number: 0?${serial('billing')}\\n`))
    expect(crl.stdout).toMatch(/X509v3 CRL Number:\s+2/) // init wrote number 1, empty
    // the list's folder holds nothing else, the CA's key least of all: a service may mount it alone
    expect(readdirSync(join(out, 'crl'))).toEqual(['ca.crl'])
    expect(readdirSync(join(out, 'ca')).sort()).toEqual(['ca.crt', 'ca.key'])

    const listed = await runCli(['certs', 'list', '--dir', out, '--json'])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout).schema).toBe('callsign.certs.list/v1')
    expect(JSON.parse(listed.stdout).certificates).toEqual([
      {
        name: 'billing',
        serial: serial('billing'),
        spiffeId: 'spiffe://mesh.local/ns/default/sa/billing',
        notAfter: expect.stringMatching(/^\d{4}-/),
        revoked: true,
        revokedAt: expect.stringMatching(/^\d{4}-/),
      },
      {
        name: 'orders',
        serial: serial('orders'),
        spiffeId: 'spiffe://mesh.local/ns/default/sa/orders',
        notAfter: expect.stringMatching(/^\d{4}-/),
        revoked: false,
        revokedAt: null,
      },
    ])
  }, 120_000)

  it('revokes by serial, says when a serial is already revoked, lists as a table, and refuses an unknown name (exit 2)', async () => {
    const out = join(dir, 'revoke-serial')
    expect((await runCli(['certs', 'init', '--dir', out])).code).toBe(0)
    const gone = '0A:1B:2C'
    expect((await runCli(['certs', 'revoke', gone, '--dir', out])).code).toBe(0)
    const again = await runCli(['certs', 'revoke', '0xa1b2c', '--dir', out])
    expect(again).toMatchObject({ code: 0, stderr: expect.stringContaining('already revoked') })
    const table = await runCli(['certs', 'list', '--dir', out])
    expect(table.stdout).toMatch(/^SERVICE\s+SERIAL\s+SPIFFE ID\s+NOT AFTER\s+REVOKED$/m)
    expect(table.stdout).toMatch(/^-\s+A1B2C\s+-\s+-\s+\d{4}-/m)
    expect((await runCli(['certs', 'revoke', 'no-such-service', '--dir', out])).code).toBe(2)
  }, 120_000)

  it('refuses to revoke or list while the list is still in its old place beside the CA key', async () => {
    const out = join(dir, 'revoke-old-place')
    expect((await runCli(['certs', 'init', '--dir', out])).code).toBe(0)
    await rename(join(out, 'crl', 'ca.crl'), join(out, 'ca', 'ca.crl'))
    for (const args of [['revoke', '0A1B'], ['list']]) {
      const result = await runCli(['certs', ...args, '--dir', out])
      expect(result.code, args[0]).toBe(1)
      expect(result.stderr).toContain(`move it to ${join(out, 'crl', 'ca.crl')}`)
    }
  }, 120_000)
})
