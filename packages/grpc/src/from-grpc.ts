import { TLSSocket } from 'node:tls'
import { type AuthRequest, type TlsPeer, tlsPeerFromSocket } from '@callsign/core'
import type { Metadata, ServerInterceptingCallInterface } from '@grpc/grpc-js'

/**
 * The TLS socket under a call. grpc-js exposes only the leaf certificate of an authorized peer
 * (`getAuthContext()`); the socket gives the handshake's verdict, the whole chain and an object that
 * lives as long as the connection, so it is preferred when reachable.
 */
function tlsSocketOf(call: ServerInterceptingCallInterface): TLSSocket | undefined {
  let current: unknown = call
  for (let depth = 0; depth < 16 && current; depth++) {
    const socket = (current as { stream?: { session?: { socket?: unknown } } }).stream?.session?.socket
    if (socket) return socket instanceof TLSSocket ? socket : undefined
    current = (current as { nextCall?: unknown }).nextCall
  }
  return undefined
}

function authContextPeer(call: ServerInterceptingCallInterface): TlsPeer | undefined {
  const context = call.getAuthContext?.()
  if (context?.transportSecurityType !== 'ssl') return undefined
  const leaf = context.sslPeerCertificate?.raw
  return { authorized: true, peerCertificateChain: () => (leaf ? [leaf] : []), connection: context }
}

/** A metadata value as a header value: binary values as base64. */
function text(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('base64')
}

/**
 * One call as the pipeline sees it: a class, so no closure or spread is built per call. The remote
 * address is read when asked for (the audit event), not on every call.
 */
class GrpcAuthRequest implements AuthRequest {
  readonly transport = 'grpc' as const
  readonly method = 'POST'
  declare readonly tls?: TlsPeer
  readonly #call: ServerInterceptingCallInterface
  readonly #metadata: Metadata
  constructor(
    call: ServerInterceptingCallInterface,
    readonly route: string,
    metadata: Metadata,
  ) {
    this.#call = call
    this.#metadata = metadata
    const socket = tlsSocketOf(call)
    const tls = socket ? tlsPeerFromSocket(socket) : authContextPeer(call)
    if (tls) (this as { tls?: TlsPeer }).tls = tls
  }
  get remoteAddress(): string | undefined {
    return this.#call.getConnectionInfo?.().remoteAddress || undefined
  }
  header(name: string): readonly string[] {
    return this.#metadata.get(name.toLowerCase()).map(text)
  }
}

/**
 * The one place that reads a gRPC call: the method path, every value of a metadata key (binary
 * values as base64), the TLS peer and the remote address. The method is always `'POST'`.
 *
 * @example
 * const decision = await pipeline.decide(fromGrpc(call, '/shop.v1.Inventory/Reserve', metadata))
 */
export function fromGrpc(
  call: ServerInterceptingCallInterface,
  path: string,
  metadata: Metadata,
): AuthRequest {
  return new GrpcAuthRequest(call, path, metadata)
}
