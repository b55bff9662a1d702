import type { X509Certificate } from 'node:crypto'
import { certificateThumbprint } from '@callsign/mtls'

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '2.5.29.37.0': 'any',
}

/** What `callsign certs inspect` shows of one certificate. */
export interface CertificateDescription {
  readonly subject: string
  readonly issuer: string
  readonly serialNumber: string
  readonly notBefore: string
  readonly notAfter: string
  readonly ca: boolean
  readonly spiffeIds: readonly string[]
  readonly uris: readonly string[]
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
  readonly extendedKeyUsage: readonly string[] | null
  readonly publicKey: string
  /** RFC 8705 `x5t#S256`: the mTLS caller's credentialId. */
  readonly thumbprint: string
  readonly fingerprint256: string
  readonly status: 'valid' | 'expired' | 'not_yet_valid'
}

/** Describes a certificate for people (text) and scripts (JSON). */
export function describeCertificate(certificate: X509Certificate, now = Date.now()): CertificateDescription {
  const names = splitAltNames(certificate.subjectAltName)
  const uris = names.filter(([type]) => type === 'URI').map(([, value]) => value)
  const notBefore = new Date(certificate.validFrom)
  const notAfter = new Date(certificate.validTo)
  const usages = (certificate as X509Certificate & { keyUsage?: string[] }).keyUsage
  const key = certificate.publicKey
  const details = key.asymmetricKeyDetails
  return {
    subject: certificate.subject.replaceAll('\n', ', '),
    issuer: certificate.issuer.replaceAll('\n', ', '),
    serialNumber: certificate.serialNumber,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    ca: certificate.ca,
    spiffeIds: uris.filter((uri) => uri.startsWith('spiffe://')),
    uris,
    dnsNames: names.filter(([type]) => type === 'DNS').map(([, value]) => value),
    ipAddresses: names.filter(([type]) => type === 'IP Address').map(([, value]) => value),
    extendedKeyUsage: usages === undefined ? null : usages.map((oid) => EKU_NAMES[oid] ?? oid),
    publicKey: `${key.asymmetricKeyType}${details?.namedCurve ? ` ${details.namedCurve}` : ''}${details?.modulusLength ? ` ${details.modulusLength}` : ''}`,
    thumbprint: certificateThumbprint(certificate.raw),
    fingerprint256: certificate.fingerprint256,
    status: now < notBefore.getTime() ? 'not_yet_valid' : now > notAfter.getTime() ? 'expired' : 'valid',
  }
}

/** Splits Node's `subjectAltName` text (`URI:a, DNS:b`; odd values are JSON-quoted). */
function splitAltNames(text: string | undefined): [string, string][] {
  if (!text) return []
  const found: [string, string][] = []
  const pattern =
    /(URI|DNS|IP Address|email|DirName|othername|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g
  for (const match of text.matchAll(pattern)) {
    const raw = match[2]!
    found.push([match[1]!, raw.startsWith('"') ? (JSON.parse(raw) as string) : raw])
  }
  return found
}

/** The text form of a description. */
export function formatDescription(
  file: string,
  index: number,
  d: CertificateDescription,
  now = Date.now(),
): string {
  const days = Math.round((Date.parse(d.notAfter) - now) / 86_400_000)
  const status =
    d.status === 'valid'
      ? `valid, expires in ${days} day(s)`
      : d.status === 'expired'
        ? 'EXPIRED'
        : 'NOT YET VALID'
  const rows: [string, string][] = [
    ['certificate', `${file}${index > 0 ? ` #${index + 1}` : ''}`],
    ['subject', d.subject || '(empty)'],
    ['issuer', d.issuer],
    ['serial', d.serialNumber],
    ['not before', d.notBefore],
    ['not after', d.notAfter],
    ['status', status],
    ['CA', d.ca ? 'yes' : 'no'],
    [
      'SPIFFE ID',
      d.spiffeIds.length === 1
        ? d.spiffeIds[0]!
        : d.spiffeIds.length === 0
          ? '(none)'
          : `several: ${d.spiffeIds.join(' ')}`,
    ],
    ...(d.uris.length > d.spiffeIds.length ? [['URIs', d.uris.join(' ')] as [string, string]] : []),
    ['DNS names', d.dnsNames.join(' ') || '(none)'],
    ['IP addresses', d.ipAddresses.join(' ') || '(none)'],
    ['ext. key usage', d.extendedKeyUsage === null ? '(none)' : d.extendedKeyUsage.join(' ')],
    ['public key', d.publicKey],
    ['x5t#S256', d.thumbprint],
    ['SHA-256', d.fingerprint256],
  ]
  return `${rows.map(([label, value]) => `${label.padEnd(15)} ${value}`).join('\n')}\n`
}
