import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, type FileWatcher, type WatchFilesOptions, watchFiles } from '@callsign/core'
import { isTrustDomainName } from '../parse-spiffe-id.js'
import { crlDers, readRevocationList, UnknownCrlSigner } from './crl.js'
import { pemCertificates, toPem } from './pem.js'

/** The files of a TLS identity and trust bundle, as Kubernetes TLS secrets lay them out. */
export interface TlsFiles {
  /** The CA bundle file(s) (PEM, one or more CA certificates): whom we trust. */
  readonly ca: string | readonly string[]
  /** Our certificate (PEM, leaf first, then any intermediates). */
  readonly cert: string
  /** Our private key (PEM). */
  readonly key: string
}

/** What was read from the files: PEM buffers, ready for `tls.createSecureContext`. */
export interface TlsMaterial {
  /** One PEM buffer per trusted CA certificate. */
  readonly ca: readonly Buffer[]
  readonly cert: Buffer
  readonly key: Buffer
}

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

/** What was read: the public material, the anchors with their bindings, the revoked serials. */
export interface LoadedTls {
  readonly material: TlsMaterial
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

function read(path: string, option: string, where: string): Buffer {
  try {
    return readFileSync(path)
  } catch (cause) {
    throw new ConfigError(`${where}: cannot read "${option}" file ${path}`, { cause })
  }
}

function readBundle(paths: readonly string[], option: string, where: string): Buffer[] {
  const ca: Buffer[] = []
  for (const path of paths) {
    const ders = pemCertificates(read(path, option, where))
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
): Pick<LoadedTls, 'anchors' | 'revoked'> {
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
    const ders = crlDers(read(path, 'crl', where))
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

/** Reads and checks the files: the trust (as {@link loadTrust}) and a key that matches the certificate. */
export function loadTlsMaterial(
  files: TrustFiles & Pick<TlsFiles, 'cert' | 'key'>,
  where: string,
  implicit: 'one-ca' | 'any' = 'one-ca',
  formerCas: readonly X509Certificate[] = [],
): LoadedTls {
  if (typeof files.cert !== 'string' || typeof files.key !== 'string') {
    throw new ConfigError(`${where}: "cert" and "key" must be file paths`)
  }
  const { anchors, revoked } = loadTrust(files, where, implicit, formerCas)
  const cert = read(files.cert, 'cert', where)
  const leaf = pemCertificates(cert)[0]
  if (!leaf) throw new ConfigError(`${where}: "cert" file ${files.cert} holds no PEM certificate`)
  const key = read(files.key, 'key', where)
  let matches: boolean
  try {
    matches = new X509Certificate(leaf).checkPrivateKey(createPrivateKey(key))
  } catch (cause) {
    throw new ConfigError(`${where}: "cert" or "key" is unreadable`, { cause })
  }
  if (!matches) throw new ConfigError(`${where}: "key" does not match "cert"`)
  return { material: { ca: anchors.map((anchor) => anchor.pem), cert, key }, anchors, revoked }
}

export interface ReloadOptions {
  /** Watch the files and reload on change (default true); or the watcher's options. */
  readonly watch?: boolean | WatchFilesOptions
  /** Called after a good reload. */
  readonly onReload?: () => void
  /** Called when changed files are invalid (say, a key written before its certificate). Default: a warning. */
  readonly onError?: (error: ConfigError) => void
}

export interface Reloader {
  current(): LoadedTls
  reload(): boolean
  close(): void
}

/** Loads now (throwing at startup), then reloads on change, keeping the last good material. */
export function reloader(
  files: TrustFiles & Pick<TlsFiles, 'cert' | 'key'>,
  where: string,
  options: ReloadOptions,
  apply: (loaded: LoadedTls) => void,
  implicit: 'one-ca' | 'any' = 'one-ca',
): Reloader {
  checkTrustFiles(files, where)
  let current = loadTlsMaterial(files, where, implicit)
  /** Every CA the bundle has held: a CRL of a CA dropped since may stay listed. */
  const known = new Map<string, X509Certificate>()
  const remember = (loaded: LoadedTls) => {
    for (const { certificate } of loaded.anchors) known.set(certificate.fingerprint256, certificate)
  }
  remember(current)
  const onError =
    options.onError ??
    ((error: ConfigError) =>
      process.emitWarning(`${error.message}; keeping the last good certificates`, {
        code: 'CALLSIGN_TLS_RELOAD',
      }))
  const reload = () => {
    try {
      current = loadTlsMaterial(files, where, implicit, [...known.values()])
      remember(current)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      onError(error)
      return false
    }
    apply(current)
    options.onReload?.()
    return true
  }
  let watcher: FileWatcher | undefined
  if (options.watch !== false) {
    const paths = [...trustPaths(files), files.cert, files.key]
    watcher = watchFiles(paths, reload, typeof options.watch === 'object' ? options.watch : {})
  }
  return { current: () => current, reload, close: () => watcher?.close() }
}
