import type { Http2Session } from 'node:http2'
import type { TLSSocket } from 'node:tls'
import type { TlsPeer } from '@callsign/core'
import { tlsPeerFromSocket } from '@callsign/core/adapter'

/**
 * The TLS peer of a gRPC connection, whose `close()` ends its HTTP/2 session gracefully (GOAWAY:
 * the calls already received are answered, no new call is accepted, the client connects again).
 * The socket itself cannot be ended from outside its session.
 */
class SessionTlsPeer implements TlsPeer {
  readonly #peer: TlsPeer
  readonly #session: Http2Session
  constructor(socket: TLSSocket, session: Http2Session) {
    this.#peer = tlsPeerFromSocket(socket)
    this.#session = session
  }
  get authorized(): boolean {
    return this.#peer.authorized
  }
  get authorizationError(): string | undefined {
    return this.#peer.authorizationError
  }
  get connection(): object {
    return this.#peer.connection
  }
  peerCertificateChain(): readonly Uint8Array[] {
    return this.#peer.peerCertificateChain()
  }
  close(): void {
    if (!this.#session.closed && !this.#session.destroyed) this.#session.close()
  }
}

const peers = new WeakMap<Http2Session, TlsPeer>()

/**
 * The TLS side of a gRPC call's connection: the same object for every call of one HTTP/2 session.
 *
 * @example
 * const tls = socket instanceof TLSSocket && session ? sessionTlsPeer(socket, session) : undefined
 */
export function sessionTlsPeer(socket: TLSSocket, session: Http2Session): TlsPeer {
  let peer = peers.get(session)
  if (peer === undefined) {
    peer = new SessionTlsPeer(socket, session)
    peers.set(session, peer)
  }
  return peer
}
