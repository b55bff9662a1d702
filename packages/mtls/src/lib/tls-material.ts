import { createPrivateKey, X509Certificate } from 'node:crypto'
import { ConfigError, type HealthStatus, type Logger } from '@callsign/core'
import { checkLogger, reloadableFile, type WatchFilesOptions } from '@callsign/core/adapter'
import {
  checkTrustFiles,
  type LoadedTrust,
  loadTrust,
  readOption,
  type TrustFiles,
  trustPaths,
} from './load-trust.js'
import { pemCertificates } from './pem.js'

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

/** What was read: the public material, the anchors with their bindings, the revoked serials. */
export interface LoadedTls extends LoadedTrust {
  readonly material: TlsMaterial
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
  const cert = readOption(files.cert, 'cert', where)
  const leaf = pemCertificates(cert)[0]
  if (!leaf) throw new ConfigError(`${where}: "cert" file ${files.cert} holds no PEM certificate`)
  const key = readOption(files.key, 'key', where)
  let matches: boolean
  try {
    matches = new X509Certificate(leaf).checkPrivateKey(createPrivateKey(key))
  } catch (cause) {
    throw new ConfigError(`${where}: "cert" ${files.cert} or "key" ${files.key} is unreadable`, { cause })
  }
  if (!matches) throw new ConfigError(`${where}: "key" ${files.key} does not match "cert" ${files.cert}`)
  return { material: { ca: anchors.map((anchor) => anchor.pem), cert, key }, anchors, revoked }
}

export interface ReloadOptions {
  /** Watch the files and reload on change (default true); or the watcher's options. */
  readonly watch?: boolean | WatchFilesOptions
  /** Called after a good reload. */
  readonly onReload?: () => void
  /** Called when changed files are invalid (say, a key written before its certificate). Default: a warning. */
  readonly onError?: (error: ConfigError) => void
  /** Where the default `onError` writes: a pino-compatible logger. Default: a process warning. */
  readonly logger?: Logger
}

export interface Reloader {
  current(): LoadedTls
  reload(): boolean
  health(): TlsMaterialHealth
  close(): void
}

/** The state of TLS material that follows its files, for `pipeline.health()`. */
export interface TlsMaterialHealth {
  /** `failing`: our certificate has expired; `degraded`: the last reload failed (last good kept). */
  readonly status: HealthStatus
  /** ISO time of the last good load. */
  readonly loadedAt: string
  /** ISO notAfter of our certificate, and of the trusted CA that expires first. */
  readonly certificateExpiresAt: string
  readonly caExpiresAt: string | null
  /** The last reload that failed, while no good one has followed it. */
  readonly lastReloadError: { readonly at: string; readonly error: string } | null
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
  /** Every CA the bundle has held: a CRL of a CA dropped since may stay listed. */
  const known = new Map<string, X509Certificate>()
  const file = reloadableFile({
    paths: [...trustPaths(files), files.cert, files.key],
    load: () => {
      const loaded = loadTlsMaterial(files, where, implicit, [...known.values()])
      for (const { certificate } of loaded.anchors) known.set(certificate.fingerprint256, certificate)
      return loaded
    },
    watch: options.watch,
    onReload: (loaded) => {
      apply(loaded)
      options.onReload?.()
    },
    onError: options.onError,
    warning: { code: 'CALLSIGN_TLS_RELOAD', keeping: 'the last good certificates' },
    logger: checkLogger(options.logger, where),
    errorCode: 'invalid_tls_files',
    telemetry: { meter: '@callsign/mtls', part: 'tls_material', file: files.cert },
  })
  const health = (): TlsMaterialHealth => {
    const { status, loadedAt, lastReloadError } = file.health()
    const current = file.current()
    const leaf = new X509Certificate(pemCertificates(current.material.cert)[0]!)
    const caNotAfter = current.anchors.map(({ certificate }) => Date.parse(certificate.validTo))
    const certificateExpiresAt = Date.parse(leaf.validTo)
    return {
      status: certificateExpiresAt <= Date.now() ? 'failing' : status,
      loadedAt,
      certificateExpiresAt: new Date(certificateExpiresAt).toISOString(),
      caExpiresAt: caNotAfter.length > 0 ? new Date(Math.min(...caNotAfter)).toISOString() : null,
      lastReloadError,
    }
  }
  return { current: file.current, reload: file.reload, health, close: file.close }
}
