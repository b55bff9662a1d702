import type { X509Certificate } from 'node:crypto'
import { children, contents, type DerNode, decodeOid, readNode, TAG } from './der.js'

export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
export const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
export const OID_ANY_EKU = '2.5.29.37.0'
const OID_SUBJECT_ALT_NAME = '2.5.29.17'

/** The subject alternative names of a certificate, read from its DER. */
export interface SubjectAltNames {
  readonly uris: readonly string[]
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
}

/** The decoded value of every extension with this OID in a certificate's DER, in order. */
function extensionValues(der: Uint8Array, oid: string): DerNode[] {
  const tbs = children(readNode(der))[0]
  if (!tbs) throw new RangeError('DER: no TBSCertificate')
  const values: DerNode[] = []
  for (const field of children(tbs)) {
    if (field.tag !== 0xa3) continue // [3] extensions
    const list = children(field)[0]
    if (!list) continue
    for (const extension of children(list)) {
      const parts = children(extension)
      if (parts[0]?.tag !== TAG.OID || decodeOid(contents(parts[0])) !== oid) continue
      const value = parts[parts.length - 1]!
      values.push(readNode(value.buffer, value.start, value.end))
    }
  }
  return values
}

/**
 * Reads the subjectAltName extension straight from the DER, so a name holding a comma or a quote
 * can never be confused with two names (as a parse of OpenSSL's text form could be).
 */
export function subjectAltNames(der: Uint8Array): SubjectAltNames {
  const uris: string[] = []
  const dnsNames: string[] = []
  const ipAddresses: string[] = []
  for (const names of extensionValues(der, OID_SUBJECT_ALT_NAME)) {
    for (const name of children(names)) {
      const bytes = contents(name)
      if (name.tag === 0x86) uris.push(Buffer.from(bytes).toString('latin1'))
      else if (name.tag === 0x82) dnsNames.push(Buffer.from(bytes).toString('latin1'))
      else if (name.tag === 0x87) ipAddresses.push(formatIp(bytes))
    }
  }
  return { uris, dnsNames, ipAddresses }
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.')
  const groups: string[] = []
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return groups.join(':')
}

/** The extended key usages of a certificate; `undefined` when it has no such extension. */
export function extendedKeyUsages(certificate: X509Certificate): readonly string[] | undefined {
  // Node names the EKU list `keyUsage`; it is undefined when the extension is absent.
  const usages = (certificate as X509Certificate & { keyUsage?: string[] }).keyUsage
  return usages === undefined ? undefined : usages
}

/** The subject Name of a certificate, DER, byte for byte. */
export function subjectName(der: Uint8Array): Uint8Array {
  const tbs = children(readNode(der))[0]
  if (!tbs) throw new RangeError('DER: no TBSCertificate')
  const fields = children(tbs)
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4]
  if (!subject) throw new RangeError('DER: no subject')
  return der.subarray(subject.offset, subject.end)
}

const OID_KEY_USAGE = '2.5.29.15'

/** The keyUsage bits a certificate asserts (0 digitalSignature … 5 keyCertSign, 6 cRLSign). */
export function keyUsageBits(der: Uint8Array): ReadonlySet<number> {
  const bits = new Set<number>()
  for (const bitString of extensionValues(der, OID_KEY_USAGE)) {
    if (bitString.tag !== TAG.BIT_STRING) throw new RangeError('DER: keyUsage is not a BIT STRING')
    const bytes = contents(bitString).subarray(1)
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      if (bytes[Math.floor(bit / 8)]! & (0x80 >> (bit % 8))) bits.add(bit)
    }
  }
  return bits
}

const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14'

/** The subjectKeyIdentifier of a certificate (the key id its children name as authority). */
export function subjectKeyIdentifier(der: Uint8Array): Uint8Array | undefined {
  const id = extensionValues(der, OID_SUBJECT_KEY_IDENTIFIER)[0]
  if (id === undefined) return undefined
  if (id.tag !== TAG.OCTET_STRING) throw new RangeError('DER: subjectKeyIdentifier is not an OCTET STRING')
  return contents(id)
}
