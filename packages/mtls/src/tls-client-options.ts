import { X509Certificate } from 'node:crypto'
import type { ConnectionOptions, DetailedPeerCertificate, PeerCertificate } from 'node:tls'
import { ConfigError } from '@callsign/core'
import { subjectAltNames } from './lib/certificate-facts.js'
import type { TrustFiles } from './lib/load-trust.js'
import { peerChain } from './lib/peer-chain.js'
import { type ReloadOptions, reloader, type TlsFiles, type TlsMaterial } from './lib/tls-material.js'
import { refusal } from './lib/trust-state.js'
import { parseSpiffeId } from './parse-spiffe-id.js'
import { authorizeId, type SpiffeAuthorizer } from './spiffe-authorizers.js'

export interface TlsClientOptionsInput extends TrustFiles, Pick<TlsFiles, 'cert' | 'key'>, ReloadOptions {
  /**
   * Authenticate the server by its SPIFFE ID (one ID, or an authorizer) instead of by host name:
   * the ID must be accepted and the server's chain must end at a CA bound to the ID's trust
   * domain (`trustDomain`, `trustDomains`, or a bundle of one CA and a `serverId` string). Default:
   * the usual host name check against the server's DNS/IP SANs.
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
  const named = input.trustDomains
    ? Object.keys(input.trustDomains)
    : input.trustDomain
      ? [input.trustDomain]
      : []
  if (typeof serverId === 'string' && named.length > 0) {
    const { trustDomain } = parseSpiffeId(serverId)
    if (!named.includes(trustDomain)) {
      throw new ConfigError(`${where}: the trust domain of "serverId", "${trustDomain}", is bound to no CA`)
    }
  }
  if (typeof serverId === 'function' && named.length === 0) {
    throw new ConfigError(
      `${where}: with an authorizer as "serverId", bind the CAs to their trust domains ("trustDomain" or "trustDomains")`,
    )
  }
  const files = reloader(input, where, input, () => {}, accept ? 'one-ca' : 'any')
  const checkServerIdentity = accept
    ? (_host: string, certificate: PeerCertificate): Error | undefined => {
        try {
          const chain = peerChain(certificate as DetailedPeerCertificate)
          const { uris } = subjectAltNames(chain[0]!)
          const id = uris.length === 1 ? parseSpiffeId(uris[0]!) : undefined
          if (id && accept(id)) {
            const { anchors, revoked } = files.current()
            const leaf = new X509Certificate(chain[0]!)
            if (!refusal({ generation: 0, anchors, revoked }, leaf, chain, id.trustDomain)) return undefined
          }
        } catch {
          // fall through: not an acceptable SPIFFE identity
        }
        return Object.assign(
          new Error('the server does not hold the expected SPIFFE ID from a CA bound to its trust domain'),
          { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
        )
      }
    : undefined
  return {
    get options(): ConnectionOptions {
      const m = files.current().material
      return {
        ca: [...m.ca],
        cert: m.cert,
        key: m.key,
        minVersion,
        rejectUnauthorized: true,
        ...(checkServerIdentity ? { checkServerIdentity } : {}),
      }
    },
    material: () => files.current().material,
    reload: () => files.reload(),
    close: () => files.close(),
  }
}
