import { X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ConfigError } from '@callsign/core'
import { certificateThumbprint } from '@callsign/mtls'
import type { ReviewedCredential } from './review-access.js'

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/**
 * Every certificate under a folder (`*.crt`, `*.pem`), once each, as reviewed credentials: id =
 * base64url SHA-256 of the DER (the mTLS verifier's credentialId), owner = the SPIFFE ID or DNS name
 * (the subject for a CA).
 */
export function readCertificates(dir: string): ReviewedCredential[] {
  const seen = new Map<string, ReviewedCredential>()
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.(crt|pem)$/.test(name)) {
        for (const pem of readFileSync(path, 'utf8').match(PEM) ?? []) {
          let cert: X509Certificate
          try {
            cert = new X509Certificate(pem)
          } catch (cause) {
            throw new ConfigError(`--certs: ${path} holds an unreadable certificate`, { cause })
          }
          const id = certificateThumbprint(cert.raw)
          if (seen.has(id)) continue
          seen.set(id, {
            id,
            kind: 'mtls',
            owner: identity(cert),
            scopes: [],
            createdAt: new Date(cert.validFrom),
            expiresAt: new Date(cert.validTo),
            active: true,
            source: relative(process.cwd(), path) || path,
          })
        }
      }
    }
  }
  try {
    if (!statSync(dir).isDirectory()) throw new ConfigError(`--certs ${dir}: not a folder`)
    walk(dir)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(`--certs ${dir}: cannot read it`, { cause: error })
  }
  if (seen.size === 0) throw new ConfigError(`--certs ${dir}: no certificate (*.crt, *.pem) under it`)
  return [...seen.values()]
}

function identity(cert: X509Certificate): string {
  const names = (cert.subjectAltName ?? '').split(', ')
  const uri = names.find((name) => name.startsWith('URI:spiffe://'))
  if (uri) return uri.slice(4)
  const dns = names.find((name) => name.startsWith('DNS:'))
  if (dns && !cert.ca) return dns.slice(4)
  return cert.subject.replaceAll('\n', ', ')
}
