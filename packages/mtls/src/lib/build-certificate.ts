import { createHash, type KeyObject, randomBytes, sign } from 'node:crypto'
import { OID_CLIENT_AUTH, OID_SERVER_AUTH } from './certificate-facts.js'
import {
  bitString,
  boolean,
  contextTag,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  time,
  unsignedInteger,
  utf8String,
} from './der.js'

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'

export interface CertificateSpec {
  readonly subject: readonly (readonly [oid: string, value: string])[]
  /** The issuer's Name, DER, copied byte for byte from the issuing certificate's subject. */
  readonly issuer: Uint8Array | CertificateSpec['subject']
  readonly notBefore: Date
  readonly notAfter: Date
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly publicKey: KeyObject
  /** The issuer's public key (for the authority key identifier). */
  readonly issuerPublicKey: KeyObject
  /** The issuer's own subjectKeyIdentifier, when it has one: the authority key identifier. */
  readonly issuerKeyId?: Uint8Array
  readonly signingKey: KeyObject
  readonly ca: boolean
  readonly uris: readonly string[]
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
}

export const OID_COMMON_NAME = '2.5.4.3'
export const OID_ORGANIZATION = '2.5.4.10'

function name(attributes: CertificateSpec['subject']): Uint8Array {
  return sequence(...attributes.map(([type, value]) => set(sequence(oid(type), utf8String(value)))))
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value))
}

function keyIdentifier(key: KeyObject): Buffer {
  // RFC 5280 §4.2.1.2 method 1 over the whole SPKI (as many CAs do): unique per key.
  return createHash('sha1')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest()
}

/** The 4 or 16 bytes of an IP address (already checked by `net.isIP`, without a zone id). */
export function ipBytes(ip: string): Uint8Array {
  if (!ip.includes(':')) return Uint8Array.from(ip.split('.').map(Number))
  // an embedded IPv4 tail (::ffff:127.0.0.1) stands for the last two 16-bit groups
  const dotted = ip.match(/^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/)
  let text = ip
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number]
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail = ''] = text.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = text.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left
  return Uint8Array.from(groups.flatMap((group) => [parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff]))
}

/** Builds and signs (ECDSA P-256, SHA-256) one X.509 v3 certificate. Returns DER. */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const serial = randomBytes(16)
  serial[0] = serial[0]! & 0x7f
  const algorithm = sequence(oid(ECDSA_WITH_SHA256))
  const altNames = [
    ...spec.uris.map((uri) => contextTag(6, false, Buffer.from(uri, 'ascii'))),
    ...spec.dnsNames.map((dns) => contextTag(2, false, Buffer.from(dns, 'ascii'))),
    ...spec.ipAddresses.map((ip) => contextTag(7, false, ipBytes(ip))),
  ]
  const extensions = [
    extension('2.5.29.19', true, spec.ca ? sequence(boolean(true), unsignedInteger(0)) : sequence()),
    // a leaf: digitalSignature (0) only; a CA: keyCertSign (5) and cRLSign (6) only (X509-SVID
    // §4.3 and Appendix A)
    extension('2.5.29.15', true, namedBits(spec.ca ? [5, 6] : [0])),
    ...(spec.ca ? [] : [extension('2.5.29.37', false, sequence(oid(OID_SERVER_AUTH), oid(OID_CLIENT_AUTH)))]),
    extension('2.5.29.14', false, octetString(keyIdentifier(spec.publicKey))),
    extension(
      '2.5.29.35',
      false,
      sequence(contextTag(0, false, spec.issuerKeyId ?? keyIdentifier(spec.issuerPublicKey))),
    ),
    ...(altNames.length > 0
      ? [extension('2.5.29.17', spec.subject.length === 0, sequence(...altNames))]
      : []),
  ]
  const tbs = sequence(
    contextTag(0, true, unsignedInteger(2)),
    unsignedInteger(serial),
    algorithm,
    spec.issuer instanceof Uint8Array ? spec.issuer : name(spec.issuer),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    contextTag(3, true, sequence(...extensions)),
  )
  const signature = sign('sha256', tbs, { key: spec.signingKey, dsaEncoding: 'der' })
  return Buffer.from(sequence(tbs, algorithm, bitString(signature)))
}
