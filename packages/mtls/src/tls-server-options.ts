import { constants, X509Certificate } from 'node:crypto'
import {
  createSecureContext,
  type SecureContextOptions,
  type Server,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls'
import { ConfigError } from '@callsign/core'
import { subjectAltNames } from './lib/certificate-facts.js'
import type { Anchor, TrustFiles } from './lib/load-trust.js'
import { peerChain } from './lib/peer-chain.js'
import {
  type LoadedTls,
  type ReloadOptions,
  reloader,
  type TlsFiles,
  type TlsMaterial,
  type TlsMaterialHealth,
} from './lib/tls-material.js'
import { refusal, type TrustSource, type TrustState } from './lib/trust-state.js'
import { parseSpiffeId } from './parse-spiffe-id.js'

export interface TlsServerOptionsInput extends TrustFiles, Pick<TlsFiles, 'cert' | 'key'>, ReloadOptions {
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
  /**
   * Any other secure-context option of Node's (`ciphers`, `maxVersion`, `sigalgs`, `ecdhCurve`,
   * Node's own `crl` checked by the handshake …): part of `options`, and kept by every reload of an
   * attached server. Not `ca`, `cert`, `key`, `pfx`, `passphrase` or `minVersion`, which are set
   * from the options above.
   */
  readonly secureContext?: SecureContextOptions
}

/** Secure-context options set from tlsServerOptions' own: refused in `secureContext`. */
const OWNED = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'minVersion'] as const

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
  /**
   * Hot reload into a server created with {@link ServerTls.options} (`server.setSecureContext` with
   * those same options: the `secureContext` extras are kept). When the trust changes (a CA dropped,
   * a serial revoked), the server's open connections whose client certificate it no longer accepts
   * are closed. Returns a function that stops it.
   */
  attach(server: Server): () => void
  /**
   * A certificate provider for grpc-js's `experimental.createCertificateProviderServerCredentials`,
   * the one way to rotate a grpc-js server's certificates without a new server.
   */
  certificateProvider(): GrpcCertificateProvider
  /** Re-reads the files now; false (last good material kept) when they are invalid. */
  reload(): boolean
  /** When the files were last loaded, whether a reload failed, and when the certificate and CAs expire. */
  health(): TlsMaterialHealth
  close(): void
}

/**
 * TLS server options for mutual TLS from a CA bundle, certificate and key file: client
 * certificates requested and required, TLS 1.2 at least, renegotiation off, and hot reload of all
 * the files when they change (rotation without a restart). Each CA is bound to the SPIFFE trust
 * domain it vouches for (`trustDomain`, `trustDomains`, or implicitly when the bundle holds one
 * CA); `crl` files revoke certificates. Give the result to `mtlsVerifier({ serverTls })` so the
 * verifier checks bindings and revocations, and so a reload reaches connections already open.
 *
 * @example
 * const serverTls = tlsServerOptions({ ca: 'certs/ca.crt', cert: 'certs/tls.crt', key: 'certs/tls.key' })
 * const server = https.createServer(serverTls.options, app)
 * serverTls.attach(server)
 */
export function tlsServerOptions(input: TlsServerOptionsInput): ServerTls {
  const where = 'tlsServerOptions'
  if (input === null || typeof input !== 'object') throw new ConfigError(`${where}: options are required`)
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
  const extras = input.secureContext ?? {}
  if (typeof extras !== 'object' || extras === null || Array.isArray(extras)) {
    throw new ConfigError(`${where}: "secureContext" must be an object of Node secure-context options`)
  }
  const owned = OWNED.find((name) => name in extras)
  if (owned !== undefined) {
    throw new ConfigError(
      `${where}: "secureContext.${owned}" is set by tlsServerOptions itself; leave it out`,
    )
  }

  const servers = new Set<Server>()
  /** Client connections of the attached servers, to close the ones a new trust refuses. */
  const sockets = new Set<TLSSocket>()
  const caListeners = new Set<(update: { caCertificate: Buffer } | null) => void>()
  const identityListeners = new Set<(update: { certificate: Buffer; privateKey: Buffer } | null) => void>()
  /** CAs dropped from the bundle, trusted until their time runs out: fingerprint → [anchor, until]. */
  const retained = new Map<string, readonly [Anchor, number]>()
  let previous: readonly Anchor[] = []
  let expiry: NodeJS.Timeout | undefined
  let state: TrustState

  const anchors = (): readonly Anchor[] => {
    const base = files.current().anchors
    const now = Date.now()
    const extra = [...retained.values()].filter(([, until]) => until > now).map(([anchor]) => anchor)
    return extra.length === 0 ? base : [...base, ...extra]
  }
  const material = (): TlsMaterial => ({
    ...files.current().material,
    ca: state.anchors.map((anchor) => anchor.pem),
  })
  /** The one secure context of the server, at creation and at every reload alike. */
  const context = (m: TlsMaterial): SecureContextOptions => ({
    ...extras,
    ca: [...m.ca],
    cert: m.cert,
    key: m.key,
    minVersion,
    secureOptions: (extras.secureOptions ?? 0) | constants.SSL_OP_NO_RENEGOTIATION,
  })
  const closeRefused = () => {
    for (const socket of sockets) {
      if (!socket.authorized) continue
      if (peerRefusal(socket, state, source.trustDomains) !== undefined) socket.destroy()
    }
  }
  const push = () => {
    state = { generation: state.generation + 1, anchors: anchors(), revoked: files.current().revoked }
    const m = material()
    for (const server of servers) server.setSecureContext(context(m))
    closeRefused()
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
  const onNewMaterial = (loaded: LoadedTls) => {
    if (ttl > 0) {
      const kept = new Set(loaded.anchors.map((anchor) => anchor.certificate.fingerprint256))
      for (const anchor of previous) {
        const key = anchor.certificate.fingerprint256
        if (!kept.has(key) && !retained.has(key)) retained.set(key, [anchor, Date.now() + ttl])
      }
      for (const key of kept) retained.delete(key)
      scheduleExpiry()
    }
    previous = loaded.anchors
    push()
  }
  const files = reloader(input, where, input, onNewMaterial)
  previous = files.current().anchors
  state = { generation: 0, anchors: previous, revoked: files.current().revoked }
  const source: TrustSource = {
    current: () => state,
    trustDomains: input.trustDomains
      ? Object.keys(input.trustDomains)
      : input.trustDomain !== undefined
        ? [input.trustDomain]
        : undefined,
  }
  try {
    createSecureContext(context(material())) // an invalid option (say, unknown ciphers) fails now
  } catch (cause) {
    files.close()
    throw new ConfigError(`${where}: "secureContext" is not valid for the certificate and key`, { cause })
  }
  const track = (socket: TLSSocket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }

  const serverTls: ServerTls = {
    get options(): TlsOptions {
      return {
        ...context(material()),
        requestCert: true,
        rejectUnauthorized: mode === 'require',
      }
    },
    material,
    attach(server: Server, ...rest: unknown[]) {
      if (rest.length > 0) {
        // what a server was created with cannot be read back: every option comes from here
        throw new ConfigError(
          `${where}: attach(server) takes no options; give Node secure-context options to tlsServerOptions({ secureContext }) and create the server with serverTls.options`,
        )
      }
      servers.add(server)
      server.setSecureContext(context(material()))
      server.on('secureConnection', track)
      return () => {
        servers.delete(server)
        server.off('secureConnection', track)
      }
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
    health: () => files.health(),
    close() {
      files.close()
      if (expiry) clearTimeout(expiry)
      servers.clear()
      sockets.clear()
    },
  }
  sources.set(serverTls, source)
  return serverTls
}

const sources = new WeakMap<ServerTls, TrustSource>()

/** The trust behind a {@link ServerTls} (for the verifier); `undefined` for anything else. */
export function trustSourceOf(serverTls: ServerTls): TrustSource | undefined {
  return sources.get(serverTls)
}

/** Why the trust refuses the client certificate of an open connection, if it does. */
function peerRefusal(
  socket: TLSSocket,
  state: TrustState,
  trustDomains: readonly string[] | undefined,
): string | undefined {
  const chain = peerChain(socket.getPeerCertificate(true))
  if (chain.length === 0) return undefined
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(chain[0]!)
  } catch {
    return 'bad_certificate'
  }
  let trustDomain: string | undefined
  if (trustDomains !== undefined) {
    try {
      const { uris } = subjectAltNames(chain[0]!)
      if (uris.length === 1) trustDomain = parseSpiffeId(uris[0]!).trustDomain
    } catch {
      // not a SPIFFE ID: checked against every CA, as the verifier does for DNS identities
    }
  }
  return refusal(state, leaf, chain, trustDomain)
}
