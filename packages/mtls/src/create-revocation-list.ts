import { sign } from 'node:crypto'
import { ConfigError } from '@callsign/core'
import { subjectKeyIdentifier, subjectName } from './lib/certificate-facts.js'
import { normalSerial } from './lib/crl.js'
import { contextTag, node, octetString, oid, sequence, TAG, time, unsignedInteger } from './lib/der.js'
import { toPem } from './lib/pem.js'
import { readSigningCa } from './lib/signing-ca.js'

/** One revoked certificate: its serial number (hex) and when it was revoked. */
export interface RevokedCertificate {
  readonly serial: string
  readonly revokedAt: Date
}

export interface CreateRevocationListOptions {
  /** The CA that revokes: its certificate and private key, PEM (a {@link DevCa} will do). */
  readonly ca: { readonly cert: string | Uint8Array; readonly key: string | Uint8Array }
  /** The certificates it revokes (may be empty). */
  readonly revoked: readonly RevokedCertificate[]
  /** The CRL number, increasing with each list the CA publishes. Default 1. */
  readonly number?: number
  /** Default: now. */
  readonly thisUpdate?: Date
  /** Default: `thisUpdate` + 7 days. */
  readonly nextUpdate?: Date
}

const DAY = 86_400_000
const HEX = /^[0-9a-f]+$/i
// [signature algorithm, digest] by key type; ECDSA and EdDSA take no parameters, RSA a NULL
const ALGORITHMS: Readonly<
  Record<string, { readonly oid: string; readonly digest: string | null; readonly nullParams: boolean }>
> = {
  ec: { oid: '1.2.840.10045.4.3.2', digest: 'sha256', nullParams: false },
  rsa: { oid: '1.2.840.113549.1.1.11', digest: 'sha256', nullParams: true },
  ed25519: { oid: '1.3.101.112', digest: null, nullParams: false },
}

/**
 * A certificate revocation list (X.509 v2 CRL, PEM) signed by a CA: the list `tlsServerOptions({
 * crl })` reads. `callsign certs revoke` writes one for the development CA.
 *
 * @example
 * const crl = createRevocationList({ ca, revoked: [{ serial: '5A0F…', revokedAt: new Date() }], number: 2 })
 * writeFileSync('certs-dev/crl/ca.crl', crl)
 */
export function createRevocationList(options: CreateRevocationListOptions): string {
  const where = 'createRevocationList'
  const { cert: caCert, key: caKey } = readSigningCa(options.ca, where)
  const algorithm = ALGORITHMS[caKey.asymmetricKeyType ?? '']
  if (!algorithm)
    throw new ConfigError(`${where}: a ${caKey.asymmetricKeyType} CA key cannot sign a CRL here`)
  const number = options.number ?? 1
  if (!Number.isSafeInteger(number) || number < 1)
    throw new ConfigError(`${where}: "number" must be 1 or more`)
  const thisUpdate = options.thisUpdate ?? new Date()
  const nextUpdate = options.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY)
  if (!Array.isArray(options.revoked)) throw new ConfigError(`${where}: "revoked" must be a list`)
  const entries = options.revoked.map(({ serial, revokedAt }) => {
    if (typeof serial !== 'string' || !HEX.test(serial) || serial.length > 40) {
      throw new ConfigError(`${where}: serial ${JSON.stringify(serial)} is not a hex serial number`)
    }
    if (!(revokedAt instanceof Date) || Number.isNaN(revokedAt.getTime())) {
      throw new ConfigError(`${where}: the revocation date of ${serial} is not a valid Date`)
    }
    const hex = normalSerial(serial)
    return sequence(unsignedInteger(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')), time(revokedAt))
  })
  const algorithmId = sequence(oid(algorithm.oid), ...(algorithm.nullParams ? [node(TAG.NULL)] : []))
  const keyId = subjectKeyIdentifier(caCert.raw)
  const extensions = [
    sequence(oid('2.5.29.20'), octetString(unsignedInteger(numberBytes(number)))),
    ...(keyId ? [sequence(oid('2.5.29.35'), octetString(sequence(contextTag(0, false, keyId))))] : []),
  ]
  const tbs = sequence(
    unsignedInteger(1), // v2
    algorithmId,
    subjectName(caCert.raw),
    time(thisUpdate),
    time(nextUpdate),
    ...(entries.length > 0 ? [sequence(...entries)] : []),
    contextTag(0, true, sequence(...extensions)),
  )
  const signature = sign(algorithm.digest, tbs, { key: caKey, dsaEncoding: 'der' })
  const der = sequence(tbs, algorithmId, node(TAG.BIT_STRING, Uint8Array.of(0), signature))
  return toPem(der, 'X509 CRL')
}

function numberBytes(value: number): Uint8Array {
  const hex = value.toString(16)
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')
}
