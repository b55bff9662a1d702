import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, type FileWatcher, type WatchFilesOptions, watchFiles } from '@callsign/core'
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

function read(path: string, option: string, where: string): Buffer {
  try {
    return readFileSync(path)
  } catch (cause) {
    throw new ConfigError(`${where}: cannot read "${option}" file ${path}`, { cause })
  }
}

/** Reads and checks the files: the key matches the certificate, every bundle entry is a CA. */
export function loadTlsMaterial(files: TlsFiles, where: string): TlsMaterial {
  const caFiles = typeof files.ca === 'string' ? [files.ca] : files.ca
  if (
    !Array.isArray(caFiles) ||
    caFiles.length === 0 ||
    typeof files.cert !== 'string' ||
    typeof files.key !== 'string'
  ) {
    throw new ConfigError(`${where}: "ca", "cert" and "key" must be file paths`)
  }
  const ca: Buffer[] = []
  for (const path of caFiles) {
    const ders = pemCertificates(read(path, 'ca', where))
    if (ders.length === 0) throw new ConfigError(`${where}: "ca" file ${path} holds no PEM certificate`)
    for (const der of ders) {
      let certificate: X509Certificate
      try {
        certificate = new X509Certificate(der)
      } catch (cause) {
        throw new ConfigError(`${where}: "ca" file ${path} holds an unreadable certificate`, { cause })
      }
      if (!certificate.ca)
        throw new ConfigError(`${where}: "ca" file ${path} holds a certificate that is not a CA`)
      ca.push(Buffer.from(toPem(der)))
    }
  }
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
  return { ca, cert, key }
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
  current(): TlsMaterial
  reload(): boolean
  close(): void
}

/** Loads now (throwing at startup), then reloads on change, keeping the last good material. */
export function reloader(
  files: TlsFiles,
  where: string,
  options: ReloadOptions,
  apply: (m: TlsMaterial) => void,
): Reloader {
  let current = loadTlsMaterial(files, where)
  const onError =
    options.onError ??
    ((error: ConfigError) =>
      process.emitWarning(`${error.message}; keeping the last good certificates`, {
        code: 'CALLSIGN_TLS_RELOAD',
      }))
  const reload = () => {
    try {
      current = loadTlsMaterial(files, where)
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
    const paths = [...(typeof files.ca === 'string' ? [files.ca] : files.ca), files.cert, files.key]
    watcher = watchFiles(paths, reload, typeof options.watch === 'object' ? options.watch : {})
  }
  return { current: () => current, reload, close: () => watcher?.close() }
}
