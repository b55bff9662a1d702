import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface DevCerts {
  readonly dir: string
  readonly ca: Buffer
  readonly serverKey: Buffer
  readonly serverCert: Buffer
  /** A client certificate whose CN is `cn`, signed by the CA (or by a stranger CA). */
  client(
    cn: string,
    options?: { readonly untrusted?: boolean },
  ): { readonly key: Buffer; readonly cert: Buffer }
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

function signedPair(dir: string, name: string, subject: string, ca: string, ext?: string) {
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`)
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`)
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`]
  args.push('-CAcreateserial', '-days', '2', '-out', `${name}.crt`)
  if (ext) {
    writeFileSync(join(dir, `${name}.ext`), ext)
    args.push('-extfile', `${name}.ext`)
  }
  openssl(dir, ...args)
  return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) }
}

function selfSignedCa(dir: string, name: string) {
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`)
  openssl(
    dir,
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
    '-out',
    `${name}.crt`,
  )
}

/** A throw-away CA, a server certificate for 127.0.0.1/localhost and client certificates, via openssl. */
export function createDevCerts(): DevCerts {
  const dir = mkdtempSync(join(tmpdir(), 'callsign-adapters-'))
  selfSignedCa(dir, 'ca')
  selfSignedCa(dir, 'stranger')
  const server = signedPair(
    dir,
    'server',
    '/CN=localhost',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  )
  let n = 0
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.crt')),
    serverKey: server.key,
    serverCert: server.cert,
    client(cn, options = {}) {
      return signedPair(
        dir,
        `client${n++}`,
        `/CN=${cn}`,
        options.untrusted ? 'stranger' : 'ca',
        'extendedKeyUsage=clientAuth\n',
      )
    },
  }
}
