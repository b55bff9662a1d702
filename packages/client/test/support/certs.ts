import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface TestPki {
  readonly dir: string
  readonly ca: string
  readonly server: { cert: string; key: string }
  readonly clientA: { cert: string; key: string }
  readonly clientB: { cert: string; key: string }
}

/** A throw-away CA, a server certificate for 127.0.0.1/localhost and two client certificates, made with openssl. */
export function makeTestPki(dir: string): TestPki {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const key = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`)
  key('ca')
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=callsign-client-test-ca',
  )
  const issue = (name: string, cn: string, ext: string) => {
    key(name)
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    )
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }
  }
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    server: issue(
      'server',
      'localhost',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    ),
    clientA: issue(
      'client-a',
      'client-a',
      'subjectAltName=URI:spiffe://test.local/client-a\nextendedKeyUsage=clientAuth\n',
    ),
    clientB: issue(
      'client-b',
      'client-b',
      'subjectAltName=URI:spiffe://test.local/client-b\nextendedKeyUsage=clientAuth\n',
    ),
  }
}
