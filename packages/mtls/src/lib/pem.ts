/** PEM helpers. Internal. */

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n-----END \1-----/g

/** Every certificate of a PEM bundle, as DER. Other blocks are ignored. */
export function pemCertificates(pem: string | Uint8Array): Buffer[] {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8')
  const found: Buffer[] = []
  for (const match of text.matchAll(BLOCK)) {
    if (match[1] === 'CERTIFICATE') found.push(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64'))
  }
  return found
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const base64 = Buffer.from(der).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
