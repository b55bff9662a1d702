import { constants, X509Certificate } from 'node:crypto'
import type { SecureContextOptions, Server, TlsOptions } from 'node:tls'
import { ConfigError } from '@callsign/core'
import { type ReloadOptions, reloader, type TlsFiles, type TlsMaterial } from './lib/tls-material.js'

export interface TlsServerOptionsInput extends TlsFiles, ReloadOptions {
  /**
   * `'require'` (default): the handshake refuses a client without a certificate from the bundle.
   * `'request'`: the handshake asks for one but lets the connection through, and the verifier
   * refuses it with 401 (for a service that also takes API keys or tokens without mTLS).
   */
  readonly clientCertificate?: 'require' | 'request'
  /** Lowest TLS version. Default and floor `'TLSv1.2'`. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3'
  /**
   * After a CA bundle change, keep trusting CAs dropped from it for this long, so clients still
   * holding certificates of the old CA keep working during a CA rotation. Default 0 (a bundle
   * that holds old and new CA together is the other way to rotate).
   */
  readonly previousCaTtlMs?: number
}

/** The shape of grpc-js's `experimental.CertificateProvider` (no grpc-js import needed). */
export interface GrpcCertificateProvider {
  addCaCertificateListener(listener: (update: { caCertificate: Buffer } | null) => void): void
  removeCaCertificateListener(listener: (update: { caCertificate: Buffer } | null) => void): void
  addIdentityCertificateListener(
    listener: (update: { certificate: Buffer; privateKey: Buffer } | null) => void,
  ): void
  removeIdentityCertificateListener(
    listener: (update: { certificate: Buffer; privateKey: Buffer } | null) => void,
  ): void
}

/** A TLS server identity and trust bundle that follow their files. */
export interface ServerTls {
  /** Options for `https.createServer`, `tls.createServer`, `http2.createSecureServer` (current files). */
  readonly options: TlsOptions
  /** The current material, CAs of a rotation overlap included (for `ServerCredentials.createSsl`). */
  material(): TlsMaterial
  /** Hot reload into a running server (`server.setSecureContext`); returns a function that stops it. */
  attach(server: Server): () => void
  /**
   * A certificate provider for grpc-js's `experimental.createCertificateProviderServerCredentials`,
   * the one way to rotate a grpc-js server's certificates without a new server.
   */
  certificateProvider(): GrpcCertificateProvider
  /** Re-reads the files now; false (last good material kept) when they are invalid. */
  reload(): boolean
  close(): void
}

/**
 * TLS server options for mutual TLS from a CA bundle, certificate and key file: client
 * certificates requested and required, TLS 1.2 at least, renegotiation off, and hot reload of all
 * three files when they change (rotation without a restart).
 *
 * @example
 * const serverTls = tlsServerOptions({ ca: 'certs/ca.crt', cert: 'certs/tls.crt', key: 'certs/tls.key' })
 * const server = https.createServer(serverTls.options, app)
 * serverTls.attach(server)
 */
export function tlsServerOptions(input: TlsServerOptionsInput): ServerTls {
  const where = 'tlsServerOptions'
  const mode = input.clientCertificate ?? 'require'
  if (mode !== 'require' && mode !== 'request') {
    throw new ConfigError(`${where}: "clientCertificate" must be 'require' or 'request'`)
  }
  const minVersion = input.minVersion ?? 'TLSv1.2'
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    throw new ConfigError(`${where}: "minVersion" must be 'TLSv1.2' or 'TLSv1.3'`)
  }
  const ttl = input.previousCaTtlMs ?? 0
  if (!Number.isSafeInteger(ttl) || ttl < 0) {
    throw new ConfigError(`${where}: "previousCaTtlMs" must be a whole number of milliseconds, 0 or more`)
  }

  const servers = new Set<Server>()
  const caListeners = new Set<(update: { caCertificate: Buffer } | null) => void>()
  const identityListeners = new Set<(update: { certificate: Buffer; privateKey: Buffer } | null) => void>()
  /** CAs dropped from the bundle, trusted until their time runs out: fingerprint → [pem, until]. */
  const retained = new Map<string, readonly [Buffer, number]>()
  let previous: readonly Buffer[] = []
  let expiry: NodeJS.Timeout | undefined

  const material = (): TlsMaterial => {
    const base = files.current()
    const now = Date.now()
    const extra = [...retained.values()].filter(([, until]) => until > now).map(([pem]) => pem)
    return extra.length === 0 ? base : { ...base, ca: [...base.ca, ...extra] }
  }
  const context = (m: TlsMaterial): SecureContextOptions => ({
    ca: [...m.ca],
    cert: m.cert,
    key: m.key,
    minVersion,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  })
  const push = () => {
    const m = material()
    for (const server of servers) server.setSecureContext(context(m))
    const caCertificate = Buffer.concat(m.ca)
    for (const listener of caListeners) listener({ caCertificate })
    for (const listener of identityListeners) listener({ certificate: m.cert, privateKey: m.key })
  }
  const scheduleExpiry = () => {
    if (expiry) clearTimeout(expiry)
    const next = Math.min(...[...retained.values()].map(([, until]) => until))
    if (!Number.isFinite(next)) return
    expiry = setTimeout(
      () => {
        const now = Date.now()
        for (const [key, [, until]] of retained) if (until <= now) retained.delete(key)
        push()
        scheduleExpiry()
      },
      Math.max(0, next - Date.now()),
    )
    expiry.unref()
  }
  const onNewMaterial = (m: TlsMaterial) => {
    if (ttl > 0) {
      const kept = new Set(m.ca.map(fingerprint))
      for (const pem of previous) {
        const key = fingerprint(pem)
        if (!kept.has(key) && !retained.has(key)) retained.set(key, [pem, Date.now() + ttl])
      }
      for (const key of kept) retained.delete(key)
      scheduleExpiry()
    }
    previous = m.ca
    push()
  }
  const files = reloader(input, where, input, onNewMaterial)
  previous = files.current().ca

  return {
    get options(): TlsOptions {
      return {
        ...context(material()),
        requestCert: true,
        rejectUnauthorized: mode === 'require',
      }
    },
    material,
    attach(server) {
      servers.add(server)
      server.setSecureContext(context(material()))
      return () => servers.delete(server)
    },
    certificateProvider() {
      return {
        addCaCertificateListener(listener) {
          caListeners.add(listener)
          // asynchronously, as grpc-js registers its watcher only after adding the listener
          queueMicrotask(
            () => caListeners.has(listener) && listener({ caCertificate: Buffer.concat(material().ca) }),
          )
        },
        removeCaCertificateListener: (listener) => caListeners.delete(listener),
        addIdentityCertificateListener(listener) {
          identityListeners.add(listener)
          queueMicrotask(() => {
            const m = material()
            if (identityListeners.has(listener)) listener({ certificate: m.cert, privateKey: m.key })
          })
        },
        removeIdentityCertificateListener: (listener) => identityListeners.delete(listener),
      }
    },
    reload: () => files.reload(),
    close() {
      files.close()
      if (expiry) clearTimeout(expiry)
      servers.clear()
    },
  }
}

function fingerprint(pem: Buffer): string {
  return new X509Certificate(pem).fingerprint256
}
