import { X509Certificate } from 'node:crypto'
import { ConfigError } from '@callsign/core'
import type { RevokedCertificate } from './create-revocation-list.js'
import { crlDers, readRevocationList as readChecked } from './lib/crl.js'

/** What a CRL says, once its signature is checked against its CA. */
export interface RevocationListContents {
  /** Its cRLNumber, when it has one. */
  readonly number: number | undefined
  /** The revoked serials (upper-case hex, no leading zeros) and their revocation dates. */
  readonly revoked: readonly RevokedCertificate[]
}

/**
 * Reads a CRL file (PEM or DER) signed by `caCert` (PEM). Throws `ConfigError` when it is
 * unreadable or another key signed it.
 *
 * @example
 * const { number, revoked } = readRevocationList(readFileSync('ca.crl'), readFileSync('ca.crt'))
 */
export function readRevocationList(
  crl: string | Uint8Array,
  caCert: string | Uint8Array,
): RevocationListContents {
  const ders = crlDers(Buffer.from(crl))
  if (ders.length !== 1) throw new ConfigError('readRevocationList: expected exactly one CRL')
  let ca: X509Certificate
  try {
    ca = new X509Certificate(Buffer.from(caCert))
  } catch (cause) {
    throw new ConfigError('readRevocationList: "caCert" is not a PEM certificate', { cause })
  }
  try {
    const list = readChecked(ders[0]!, [ca])
    return { number: list.number, revoked: list.entries }
  } catch (cause) {
    throw new ConfigError('readRevocationList: not a CRL signed by this CA', { cause })
  }
}
