import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { ConfigError } from '@callsign/core'

/** A CA certificate and its private key, as PEM (or DER for the certificate) strings or bytes. */
export interface SigningCaInput {
  readonly cert: string | Uint8Array
  readonly key: string | Uint8Array
}

/** Reads a CA that is to sign something: a CA certificate and the private key that matches it. */
export function readSigningCa(ca: SigningCaInput, where: string): { cert: X509Certificate; key: KeyObject } {
  let cert: X509Certificate
  let key: KeyObject
  try {
    cert = new X509Certificate(Buffer.from(ca.cert))
    key = createPrivateKey(Buffer.from(ca.key))
  } catch (cause) {
    throw new ConfigError(`${where}: "ca" must hold a PEM certificate and its PEM private key`, { cause })
  }
  if (!cert.ca) throw new ConfigError(`${where}: "ca.cert" is not a CA certificate`)
  if (!cert.checkPrivateKey(key)) throw new ConfigError(`${where}: "ca.key" does not match "ca.cert"`)
  return { cert, key }
}
