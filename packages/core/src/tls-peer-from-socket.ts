import type { DetailedPeerCertificate, TLSSocket } from 'node:tls'
import type { TlsPeer } from './auth-request.js'

/**
 * The TLS side of one socket. Built once per connection (requests on a keep-alive connection share
 * it); the handshake's verdict is read from the socket on every access, never copied.
 */
class SocketTlsPeer implements TlsPeer {
  readonly #socket: TLSSocket
  constructor(socket: TLSSocket) {
    this.#socket = socket
  }
  get authorized(): boolean {
    return this.#socket.authorized === true
  }
  get authorizationError(): string | undefined {
    const error = this.#socket.authorizationError
    return error ? String(error) : undefined
  }
  get connection(): object {
    return this.#socket
  }
  peerCertificateChain(): readonly Uint8Array[] {
    const chain: Uint8Array[] = []
    const seen = new Set<object>()
    let cert: DetailedPeerCertificate | undefined = this.#socket.getPeerCertificate(true)
    while (cert?.raw && !seen.has(cert)) {
      seen.add(cert)
      if (chain.length > 0 && Buffer.compare(chain[chain.length - 1] as Buffer, cert.raw) === 0) break
      chain.push(cert.raw)
      cert = cert.issuerCertificate
    }
    return chain
  }
  /** Ends an HTTP/1.1 connection once its response is written (an HTTP/2 session's socket throws). */
  close(): void {
    this.#socket.end()
  }
}

const peers = new WeakMap<TLSSocket, TlsPeer>()

/**
 * The TLS side of a connection: the handshake's verdict and the peer's chain, leaf first. The same
 * object for every request on one socket; `authorized` and `authorizationError` are read live.
 *
 * @example
 * const tls = socket instanceof TLSSocket ? tlsPeerFromSocket(socket) : undefined
 */
export function tlsPeerFromSocket(socket: TLSSocket): TlsPeer {
  let peer = peers.get(socket)
  if (peer === undefined) {
    peer = new SocketTlsPeer(socket)
    peers.set(socket, peer)
  }
  return peer
}
