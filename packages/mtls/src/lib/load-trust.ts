import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError } from '@callsign/core'
import { isTrustDomainName } from '../parse-spiffe-id.js'
import { crlDers, readRevocationList, UnknownCrlSigner } from './crl.js'
import { pemCertificates, toPem } from './pem.js'

/**
 * Which CA vouches for which SPIFFE trust domain, and what each CA revoked. Give either `ca` (one
 * bundle; its CAs vouch for `trustDomain`, or, when that is left out, the bundle holds exactly one
 * CA, bound to the one trust domain the verifier or `serverId` names) or `trustDomains` (one
 * bundle per trust domain: federation).
 */
export interface TrustFiles {
  /** The CA bundle file(s) (PEM, one or more CA certificates): whom we trust. */
  readonly ca?: string | readonly string[]
  /** The trust domain every CA of `ca` vouches for. */
  readonly trustDomain?: string
  /** Trust domain → the CA bundle file(s) that alone may vouch for its IDs. Instead of `ca`. */
  readonly trustDomains?: Readonly<Record<string, { readonly ca: string | readonly string[] }>>
  /** Certificate revocation list file(s), PEM or DER, each signed by a CA of the bundle. */
  readonly crl?: string | readonly string[]
}

/** One trusted CA and the trust domain it is bound to (`undefined`: the one implicit binding). */
export interface Anchor {
  readonly pem: Buffer
  readonly certificate: X509Certificate
  readonly trustDomain: string | undefined
}

/** The trust that was read: the anchors with their bindings, and the revoked serials. */
export interface LoadedTrust {
  readonly anchors: readonly Anchor[]
  /** CA `fingerprint256` → the serials its CRL revokes. */
  readonly revoked: ReadonlyMap<string, ReadonlySet<string>>
}

const list = (value: string | readonly string[] | undefined): readonly string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value

const isPathList = (value: unknown): boolean =>
  typeof value === 'string' ||
  (Array.isArray(value) && value.length > 0 && value.every((path) => typeof path === 'string'))

/** Checks the shape of the trust options (at startup, before any file is read). */
export function checkTrustFiles(files: TrustFiles, where: string): void {
  if (files.trustDomains !== undefined) {
    if (files.ca !== undefined || files.trustDomain !== undefined) {
      throw new ConfigError(`${where}: give either "ca" (with "trustDomain") or "trustDomains", not both`)
    }
    const entries = typeof files.trustDomains === 'object' ? Object.entries(files.trustDomains ?? {}) : []
    if (entries.length === 0)
      throw new ConfigError(`${where}: "trustDomains" must bind at least one trust domain`)
    for (const [name, settings] of entries) {
      if (!isTrustDomainName(name)) {
        throw new ConfigError(`${where}: "trustDomains": ${JSON.stringify(name)} is not a trust domain`)
      }
      if (!isPathList(settings?.ca)) {
        throw new ConfigError(`${where}: "trustDomains.${name}.ca" must be the path of its CA bundle file(s)`)
      }
    }
  } else {
    if (!isPathList(files.ca))
      throw new ConfigError(`${where}: "ca" must be a file path (or "trustDomains" given)`)
    if (files.trustDomain !== undefined && !isTrustDomainName(files.trustDomain)) {
      throw new ConfigError(
        `${where}: "trustDomain" ${JSON.stringify(files.trustDomain)} is not a trust domain`,
      )
    }
  }
  if (files.crl !== undefined && !isPathList(files.crl)) {
    throw new ConfigError(`${where}: "crl" must be a file path or a list of them`)
  }
}

/** Every file the trust options name (to watch them). */
export function trustPaths(files: TrustFiles): string[] {
  const bundles = files.trustDomains
    ? Object.values(files.trustDomains).flatMap((settings) => list(settings.ca))
    : list(files.ca)
  return [...bundles, ...list(files.crl)]
}

/** Reads a file named by an option, or throws a ConfigError naming it. */
export function readOption(path: string, option: string, where: string): Buffer {
  try {
    return readFileSync(path)
  } catch (cause) {
    throw new ConfigError(`${where}: cannot read "${option}" file ${path}`, { cause })
  }
}

function readBundle(paths: readonly string[], option: string, where: string): Buffer[] {
  const ca: Buffer[] = []
  for (const path of paths) {
    const ders = pemCertificates(readOption(path, option, where))
    if (ders.length === 0)
      throw new ConfigError(`${where}: "${option}" file ${path} holds no PEM certificate`)
    for (const der of ders) {
      let certificate: X509Certificate
      try {
        certificate = new X509Certificate(der)
      } catch (cause) {
        throw new ConfigError(`${where}: "${option}" file ${path} holds an unreadable certificate`, { cause })
      }
      if (!certificate.ca) {
        throw new ConfigError(`${where}: "${option}" file ${path} holds a certificate that is not a CA`)
      }
      ca.push(der)
    }
  }
  return ca
}

/**
 * Reads and checks the trust files: every bundle entry is a CA; a CA is bound to one trust domain
 * only; a bundle without a named trust domain holds exactly one CA (the implicit binding); every
 * CRL is signed by a CA of the bundle (or, on a reload, by a CA the bundle held before: its CRL may
 * stay listed after the CA is dropped).
 */
export function loadTrust(
  files: TrustFiles,
  where: string,
  implicit: 'one-ca' | 'any' = 'one-ca',
  formerCas: readonly X509Certificate[] = [],
): LoadedTrust {
  const anchors: Anchor[] = []
  const bound = new Map<string, string>()
  const add = (der: Buffer, trustDomain: string | undefined) => {
    const certificate = new X509Certificate(der)
    const other = bound.get(certificate.fingerprint256)
    if (other !== undefined) {
      if (other === (trustDomain ?? '')) return // the same CA twice in one bundle
      throw new ConfigError(`${where}: one CA is bound to both "${other}" and "${trustDomain}"`)
    }
    bound.set(certificate.fingerprint256, trustDomain ?? '')
    anchors.push({ pem: Buffer.from(toPem(der)), certificate, trustDomain })
  }
  if (files.trustDomains) {
    for (const [name, settings] of Object.entries(files.trustDomains)) {
      for (const der of readBundle(list(settings.ca), `trustDomains.${name}.ca`, where)) add(der, name)
    }
  } else {
    for (const der of readBundle(list(files.ca), 'ca', where)) add(der, files.trustDomain)
    if (files.trustDomain === undefined && implicit === 'one-ca' && anchors.length !== 1) {
      throw new ConfigError(
        `${where}: the "ca" bundle holds ${anchors.length} CA certificates but no trust domain is bound to them: name the one they vouch for with "trustDomain", or bind each with "trustDomains"`,
      )
    }
  }
  const revoked = new Map<string, Set<string>>()
  const cas = [...anchors.map((anchor) => anchor.certificate), ...formerCas]
  for (const path of list(files.crl)) {
    const ders = crlDers(readOption(path, 'crl', where))
    if (ders.length === 0) throw new ConfigError(`${where}: "crl" file ${path} holds no CRL`)
    for (const der of ders) {
      let crl: ReturnType<typeof readRevocationList>
      try {
        crl = readRevocationList(der, cas)
      } catch (cause) {
        const what =
          cause instanceof UnknownCrlSigner
            ? 'is not signed by a CA of the bundle'
            : 'holds no readable CRL (PEM or DER)'
        throw new ConfigError(`${where}: "crl" file ${path} ${what}`, { cause })
      }
      const serials = revoked.get(crl.caFingerprint) ?? new Set<string>()
      for (const serial of crl.serials) serials.add(serial)
      revoked.set(crl.caFingerprint, serials)
    }
  }
  return { anchors, revoked }
}
