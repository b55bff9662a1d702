import type { ConnectionOptions, PeerCertificate } from 'node:tls'
import { ConfigError } from '@callsign/core'
import { subjectAltNames } from './lib/certificate-facts.js'
import { type ReloadOptions, reloader, type TlsFiles, type TlsMaterial } from './lib/tls-material.js'
import { parseSpiffeId } from './parse-spiffe-id.js'
import { authorizeId, type SpiffeAuthorizer } from './spiffe-authorizers.js'

export interface TlsClientOptionsInput extends TlsFiles, ReloadOptions {
  /**
   * Authenticate the server by its SPIFFE ID (one ID, or an authorizer) instead of by host name.
   * Default: the usual host name check against the server's DNS/IP SANs.
   */
  readonly serverId?: string | SpiffeAuthorizer
  /** Lowest TLS version. Default and floor `'TLSv1.2'`. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3'
}

/** A TLS client identity and trust bundle that follow their files. */
export interface ClientTls {
  /**
   * Options for `tls.connect`, `https.request`/`https.Agent`, undici's `connect` (current files).
   * Read it again after a reload: an agent keeps the options it was made with.
   */
  readonly options: ConnectionOptions
  material(): TlsMaterial
  reload(): boolean
  close(): void
}

/**
 * The client half of {@link tlsServerOptions}: our certificate and key for the server to check,
 * the CA bundle to check the server with, TLS 1.2 at least, and hot reload on file change.
 *
 * @example
 * const clientTls = tlsClientOptions({
 *   ca: 'certs/ca.crt', cert: 'certs/tls.crt', key: 'certs/tls.key',
 *   serverId: 'spiffe://mesh.local/ns/prod/sa/orders',
 * })
 * https.get('https://orders:8443/orders/1', { ...clientTls.options }, onResponse)
 */
export function tlsClientOptions(input: TlsClientOptionsInput): ClientTls {
  const where = 'tlsClientOptions'
  const minVersion = input.minVersion ?? 'TLSv1.2'
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    throw new ConfigError(`${where}: "minVersion" must be 'TLSv1.2' or 'TLSv1.3'`)
  }
  const { serverId } = input
  if (serverId !== undefined && typeof serverId !== 'string' && typeof serverId !== 'function') {
    throw new ConfigError(`${where}: "serverId" must be a SPIFFE ID or an authorizer`)
  }
  const accept = typeof serverId === 'string' ? authorizeId(serverId) : serverId
  const files = reloader(input, where, input, () => {})
  const checkServerIdentity = accept
    ? (_host: string, certificate: PeerCertificate): Error | undefined => {
        try {
          const { uris } = subjectAltNames(certificate.raw)
          if (uris.length === 1 && accept(parseSpiffeId(uris[0]!))) return undefined
        } catch {
          // fall through: not an acceptable SPIFFE identity
        }
        return Object.assign(new Error('the server does not hold the expected SPIFFE ID'), {
          code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        })
      }
    : undefined
  return {
    get options(): ConnectionOptions {
      const m = files.current()
      return {
        ca: [...m.ca],
        cert: m.cert,
        key: m.key,
        minVersion,
        rejectUnauthorized: true,
        ...(checkServerIdentity ? { checkServerIdentity } : {}),
      }
    },
    material: () => files.current(),
    reload: () => files.reload(),
    close: () => files.close(),
  }
}
