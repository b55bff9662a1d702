import { X509Certificate } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '@callsign/core'
import { type RevokedCertificate, readRevocationList } from '@callsign/mtls'

/**
 * Where the development CA's revocation list lives: `<dir>/crl/ca.crl`, a folder without the CA's
 * key, so a service (a container) can mount it alone.
 */
export function devCrlPath(dir: string): string {
  return join(dir, 'crl', 'ca.crl')
}

/** The development CA of a certs folder: `<dir>/ca/ca.crt`, `ca.key`, and its CRL (`devCrlPath`). */
export interface DevCaFiles {
  readonly cert: string
  readonly key: string
  readonly crlPath: string
  /** What its CRL revokes (empty without a CRL), and the CRL's number. */
  readonly revoked: readonly RevokedCertificate[]
  readonly crlNumber: number
}

/** One service certificate of the folder (`<dir>/<name>/tls.crt`), or a revoked serial only. */
export interface IssuedCertificate {
  readonly name: string | null
  readonly serial: string
  readonly spiffeId: string | null
  readonly notAfter: string | null
  readonly revoked: boolean
  readonly revokedAt: string | null
}

/** Upper-case hex without colons or leading zeros: how serials are compared. */
export function normalSerial(text: string): string {
  return text
    .replace(/^0x/i, '')
    .replaceAll(':', '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '')
}

/** True when `caCert` issued and signed `certificate`. */
export function issuedBy(certificate: X509Certificate, caCert: X509Certificate): boolean {
  return certificate.checkIssued(caCert) && certificate.verify(caCert.publicKey)
}

/** Reads the CA of `dir` and its CRL; a ConfigError naming `callsign certs init` when there is none. */
export function readDevCa(dir: string, dirOption: string): DevCaFiles {
  const caDir = join(dir, 'ca')
  let cert: string
  let key: string
  try {
    cert = readFileSync(join(caDir, 'ca.crt'), 'utf8')
    key = readFileSync(join(caDir, 'ca.key'), 'utf8')
  } catch (cause) {
    throw new ConfigError(
      `cannot read the CA in ${caDir}; run \`callsign certs init --dir ${dirOption}\` first`,
      {
        cause,
      },
    )
  }
  const crlPath = devCrlPath(dir)
  if (!existsSync(crlPath)) {
    // a list that earlier versions kept beside the key: its revocations must not be lost silently
    const old = join(caDir, 'ca.crl')
    if (existsSync(old)) {
      throw new ConfigError(
        `${old} is the revocation list's old place, beside the CA's key; move it to ${crlPath} (and point servers' crl there)`,
      )
    }
    return { cert, key, crlPath, revoked: [], crlNumber: 0 }
  }
  const list = readRevocationList(readFileSync(crlPath), cert)
  return { cert, key, crlPath, revoked: list.revoked, crlNumber: list.number ?? 0 }
}

/** The service certificate in `<dir>/<name>/tls.crt`, if there is one. */
export function serviceCertificate(dir: string, name: string): X509Certificate | undefined {
  const file = join(dir, name, 'tls.crt')
  if (name === 'ca' || !existsSync(file)) return undefined
  try {
    return new X509Certificate(readFileSync(file))
  } catch (cause) {
    throw new ConfigError(`${file} holds no readable certificate`, { cause })
  }
}

/** Every service certificate the CA of `dir` issued, then the revoked serials no file holds. */
export function issuedCertificates(dir: string, ca: DevCaFiles): IssuedCertificate[] {
  const caCert = new X509Certificate(ca.cert)
  const revokedAt = new Map(ca.revoked.map((entry) => [entry.serial, entry.revokedAt.toISOString()]))
  const found: IssuedCertificate[] = []
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  for (const name of names) {
    const certificate = serviceCertificate(dir, name)
    if (!certificate || !issuedBy(certificate, caCert)) continue
    const serial = normalSerial(certificate.serialNumber)
    const uri = (certificate.subjectAltName ?? '').match(/URI:(spiffe:\/\/[^,\s]+)/)?.[1] ?? null
    found.push({
      name,
      serial,
      spiffeId: uri,
      notAfter: new Date(certificate.validTo).toISOString(),
      revoked: revokedAt.has(serial),
      revokedAt: revokedAt.get(serial) ?? null,
    })
  }
  const listed = new Set(found.map((certificate) => certificate.serial))
  for (const [serial, at] of revokedAt) {
    if (!listed.has(serial)) {
      found.push({ name: null, serial, spiffeId: null, notAfter: null, revoked: true, revokedAt: at })
    }
  }
  return found
}
