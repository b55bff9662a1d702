import type { DetailedPeerCertificate, TLSSocket } from 'node:tls'
import type { TlsPeer } from './auth-request.js'

/** The TLS side of a connection: the handshake's verdict and the peer's chain, leaf first. */
export function tlsPeerFromSocket(socket: TLSSocket): TlsPeer {
  return {
    authorized: socket.authorized === true,
    ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
    peerCertificateChain() {
      const chain: Uint8Array[] = []
      const seen = new Set<object>()
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
      while (cert?.raw && !seen.has(cert)) {
        seen.add(cert)
        if (chain.length > 0 && Buffer.compare(chain[chain.length - 1] as Buffer, cert.raw) === 0) break
        chain.push(cert.raw)
        cert = cert.issuerCertificate
      }
      return chain
    },
    connection: socket,
  }
}
