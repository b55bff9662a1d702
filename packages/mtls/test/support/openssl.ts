import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

let counter = 0

/**
 * A certificate made by the `openssl` command, to prove interoperability and to make the odd
 * certificates our own CA refuses to issue. `extensions` is an OpenSSL extension section body.
 */
export function opensslCertificate(
  dir: string,
  options: {
    signer: { cert: string; key: string } | 'self'
    extensions: string
    subject?: string
    days?: number
    /** The leaf's key: `ec:<curve>` or `rsa:<bits>`. Default `ec:prime256v1`. */
    keyType?: string
  },
): { cert: string; key: string } {
  const name = `openssl-${++counter}`
  const key = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const crt = join(dir, `${name}.crt`)
  const ext = join(dir, `${name}.ext`)
  writeFileSync(ext, `[v3]\n${options.extensions}\n`)
  const subject = options.subject ?? `/CN=${name}`
  const [type, size] = (options.keyType ?? 'ec:prime256v1').split(':')
  const generate =
    type === 'rsa'
      ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${size}`, '-out', key]
      : ['ecparam', '-name', size!, '-genkey', '-noout', '-out', key]
  execFileSync('openssl', generate, { stdio: 'pipe' })
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr], { stdio: 'pipe' })
  const signing =
    options.signer === 'self'
      ? ['-signkey', key]
      : [
          '-CA',
          write(join(dir, `${name}-ca.crt`), options.signer.cert),
          '-CAkey',
          write(join(dir, `${name}-ca.key`), options.signer.key),
        ]
  const serial = `0x${(Date.now() * 1000 + counter).toString(16)}`
  const days = String(options.days ?? 2)
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      ...signing,
      '-set_serial',
      serial,
      '-days',
      days,
      '-extfile',
      ext,
      '-extensions',
      'v3',
      '-out',
      crt,
    ],
    { stdio: 'pipe' },
  )
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') }
}

/** `openssl verify` of a certificate against a CA file, for a purpose; resolves to its output. */
export function opensslVerify(caFile: string, certFile: string, purpose = 'sslclient'): string {
  try {
    return execFileSync('openssl', ['verify', '-purpose', purpose, '-CAfile', caFile, certFile], {
      encoding: 'utf8',
      stdio: 'pipe',
    })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}`
  }
}

function write(path: string, text: string): string {
  writeFileSync(path, text)
  return path
}

/**
 * A CA made by the `openssl` command (self-signed, `CA:TRUE`, keyCertSign and cRLSign), with its
 * trust domain as URI SAN when given.
 */
export function opensslCa(dir: string, trustDomain?: string): { cert: string; key: string } {
  const name = `openssl-ca-${++counter}`
  const key = join(dir, `${name}.key`)
  const crt = join(dir, `${name}.crt`)
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], {
    stdio: 'pipe',
  })
  const extensions = [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
    ...(trustDomain ? [`subjectAltName=URI:spiffe://${trustDomain}`] : []),
  ]
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      ...extensions.flatMap((extension) => ['-addext', extension]),
      '-out',
      crt,
    ],
    { stdio: 'pipe' },
  )
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') }
}

/**
 * A CRL made by `openssl ca -gencrl`, signed by `ca`, revoking `revoked` (certificates, PEM).
 * Returns the PEM and the DER form.
 */
export function opensslCrl(
  dir: string,
  ca: { cert: string; key: string },
  revoked: readonly string[],
): { pem: string; der: Buffer } {
  const name = `openssl-crl-${++counter}`
  const base = join(dir, name)
  writeFileSync(`${base}.index`, '')
  writeFileSync(`${base}.number`, '01\n')
  writeFileSync(
    `${base}.cnf`,
    `[ca]\ndefault_ca=d\n[d]\ndatabase=${base}.index\ncrlnumber=${base}.number\ndefault_md=sha256\ndefault_crl_days=7\n`,
  )
  const caFiles = ['-cert', write(`${base}-ca.crt`, ca.cert), '-keyfile', write(`${base}-ca.key`, ca.key)]
  for (const [index, cert] of revoked.entries()) {
    const file = write(`${base}-${index}.crt`, cert)
    execFileSync('openssl', ['ca', '-config', `${base}.cnf`, ...caFiles, '-revoke', file], { stdio: 'pipe' })
  }
  execFileSync('openssl', ['ca', '-config', `${base}.cnf`, ...caFiles, '-gencrl', '-out', `${base}.crl`], {
    stdio: 'pipe',
  })
  execFileSync('openssl', ['crl', '-in', `${base}.crl`, '-outform', 'DER', '-out', `${base}.der`], {
    stdio: 'pipe',
  })
  return { pem: readFileSync(`${base}.crl`, 'utf8'), der: readFileSync(`${base}.der`) }
}
