/** The transports the adapters speak. */
export type Transport = 'http' | 'grpc'

/**
 * What an adapter tells the pipeline about one request. The core never sees a framework object:
 * each adapter fills this in exactly one place.
 */
export interface AuthRequest {
  readonly transport: Transport
  /** Upper-case HTTP method (`'POST'` for gRPC). */
  readonly method: string
  /** The route as the framework matched it (`/orders/:id`), or the gRPC method path. */
  readonly route: string
  /** Every value of a header or metadata key (lower-case name); empty when absent. */
  header(name: string): readonly string[]
  /** Present when the request arrived over TLS. */
  readonly tls?: TlsPeer
  readonly remoteAddress?: string
}

/** The TLS side of a connection, as the handshake left it. */
export interface TlsPeer {
  /** True only when the handshake verified the peer's chain against the trusted CAs. */
  readonly authorized: boolean
  readonly authorizationError?: string
  /** DER certificates the peer presented, leaf first; empty when it sent none. */
  peerCertificateChain(): readonly Uint8Array[]
  /** An object that lives exactly as long as the connection, for per-connection caching. */
  readonly connection: object
  /**
   * Ends the connection gracefully: what is being answered on it is still written, nothing new is
   * accepted, and the client must connect (and present its certificate) again. A verifier calls it
   * when it refuses the connection's certificate for good. Optional: a connection without it stays
   * open, and each of its requests is refused.
   */
  close?(): void
}
