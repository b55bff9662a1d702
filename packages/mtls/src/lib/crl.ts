import { type KeyObject, verify, type X509Certificate } from 'node:crypto'
import { subjectName } from './certificate-facts.js'
import { children, contents, decodeOid, readNode, readTime, TAG } from './der.js'

/** A certificate revocation list, read and checked against the CA that signed it. */
export interface RevocationList {
  /** `fingerprint256` of the CA that signed it. */
  readonly caFingerprint: string
  /** Revoked serial numbers, upper-case hex without leading zeros (as {@link normalSerial}). */
  readonly serials: ReadonlySet<string>
  /** Each revoked serial with its revocation date. */
  readonly entries: readonly { readonly serial: string; readonly revokedAt: Date }[]
  /** The cRLNumber extension, when present and small enough for a number. */
  readonly number: number | undefined
}

// signatureAlgorithm OID → digest for node:crypto's verify (null: the key type fixes it)
const DIGESTS: Readonly<Record<string, string | null>> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null, // Ed25519
  '1.3.101.113': null, // Ed448
}

/** A well-formed CRL that no CA of the bundle signed. */
export class UnknownCrlSigner extends RangeError {
  constructor() {
    super('CRL: not signed by any CA of the bundle')
  }
}

/** Upper-case hex without leading zeros: the one form serials are compared in. */
export function normalSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '')
}

/** The DER of every CRL in a file: PEM blocks `X509 CRL`, or the whole file when it is DER. */
export function crlDers(file: Buffer): Buffer[] {
  const text = file.toString('latin1')
  if (text.includes('-----BEGIN')) {
    const found: Buffer[] = []
    for (const match of text.matchAll(/-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g)) {
      found.push(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64'))
    }
    return found
  }
  return file.length > 0 ? [file] : []
}

/**
 * Reads one CRL (DER) and finds which of `cas` signed it: the CRL's issuer must be that CA's
 * subject, byte for byte, and its signature must verify with that CA's key. Throws a RangeError
 * when it is malformed or no CA signed it. Its dates are not checked: a CRL past its nextUpdate
 * still lists what it revoked.
 */
export function readRevocationList(der: Uint8Array, cas: readonly X509Certificate[]): RevocationList {
  const [tbs, algorithm, signature] = children(readNode(der))
  if (!tbs || !algorithm || !signature || signature.tag !== TAG.BIT_STRING) {
    throw new RangeError('CRL: not a CertificateList')
  }
  const algorithmOid = children(algorithm)[0]
  const digest = algorithmOid ? DIGESTS[decodeOid(contents(algorithmOid))] : undefined
  if (digest === undefined) throw new RangeError('CRL: unsupported signature algorithm')
  const fields = children(tbs)
  let index = fields[0]?.tag === TAG.INTEGER ? 1 : 0 // version, when present
  index++ // the inner signature algorithm
  const issuer = fields[index++]
  if (!issuer || issuer.tag !== TAG.SEQUENCE) throw new RangeError('CRL: no issuer')
  const issuerDer = der.subarray(issuer.offset, issuer.end)
  index++ // thisUpdate
  if (fields[index]?.tag === TAG.UTC_TIME || fields[index]?.tag === TAG.GENERALIZED_TIME) index++
  const serials = new Set<string>()
  const entries: { serial: string; revokedAt: Date }[] = []
  const list = fields[index]
  if (list?.tag === TAG.SEQUENCE) {
    index++
    for (const entry of children(list)) {
      const [serial, date] = children(entry)
      if (serial?.tag !== TAG.INTEGER || !date) throw new RangeError('CRL: bad revoked entry')
      const bytes = contents(serial)
      if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) continue // a negative serial matches nothing
      const hex = normalSerial(Buffer.from(bytes).toString('hex'))
      serials.add(hex)
      entries.push({ serial: hex, revokedAt: readTime(date) })
    }
  }
  const number = crlNumber(fields[index])
  const tbsDer = der.subarray(tbs.offset, tbs.end)
  const signatureBytes = contents(signature).subarray(1)
  const signer = cas.find(
    (ca) =>
      Buffer.from(subjectName(ca.raw)).equals(issuerDer) &&
      verifies(digest, tbsDer, ca.publicKey, signatureBytes),
  )
  if (!signer) throw new UnknownCrlSigner()
  return { caFingerprint: signer.fingerprint256, serials, entries, number }
}

/** The cRLNumber from the `[0]` crlExtensions element, if any. */
function crlNumber(extensions: ReturnType<typeof readNode> | undefined): number | undefined {
  if (extensions?.tag !== 0xa0) return undefined
  for (const extension of children(children(extensions)[0]!)) {
    const parts = children(extension)
    if (parts[0]?.tag !== TAG.OID || decodeOid(contents(parts[0])) !== '2.5.29.20') continue
    const value = parts[parts.length - 1]!
    const integer = readNode(value.buffer, value.start, value.end)
    const number = Number.parseInt(Buffer.from(contents(integer)).toString('hex') || '0', 16)
    return Number.isSafeInteger(number) ? number : undefined
  }
  return undefined
}

function verifies(digest: string | null, data: Uint8Array, key: KeyObject, signature: Uint8Array) {
  try {
    return verify(digest, data, key, signature)
  } catch {
    return false
  }
}
