import { createHash } from 'node:crypto'

/**
 * The RFC 8705 thumbprint of a certificate: base64url (no padding) of SHA-256 over its DER. It is
 * the `credentialId` of an mTLS caller and the value of a bound token's `cnf["x5t#S256"]`.
 *
 * @example
 * const x5t = certificateThumbprint(new X509Certificate(pem).raw)
 */
export function certificateThumbprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url')
}
