import type { PeerCertificate, TLSSocket } from 'node:tls'
import type { TlsPeer } from '@callsign/core'

/** Counts how often the verifier asked for the peer chain (to prove the once-per-connection cache). */
export interface ChainReads {
  count: number
}

/**
 * A TlsPeer from a real TLS socket, the way the adapters build it: `getPeerCertificate(true)`,
 * walking `issuerCertificate` (a self-signed root points at itself).
 */
export function tlsPeerOf(socket: TLSSocket, reads?: ChainReads): TlsPeer {
  return {
    get authorized() {
      return socket.authorized
    },
    get authorizationError() {
      const error = socket.authorizationError as unknown
      return error === undefined || error === null ? undefined : String(error)
    },
    peerCertificateChain() {
      if (reads) reads.count++
      const chain: Uint8Array[] = []
      let certificate = socket.getPeerCertificate(true) as PeerCertificate & {
        issuerCertificate?: PeerCertificate
      }
      while (certificate?.raw && chain.length < 10) {
        chain.push(certificate.raw)
        const issuer = certificate.issuerCertificate as typeof certificate | undefined
        if (!issuer || issuer === certificate || issuer.raw?.equals(certificate.raw)) break
        certificate = issuer
      }
      return chain
    },
    connection: socket,
  }
}
