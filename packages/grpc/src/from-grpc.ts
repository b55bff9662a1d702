import { TLSSocket } from 'node:tls'
import type { AuthRequest, TlsPeer } from '@callsign/core'
import { rawHeader } from '@callsign/core/adapter'
import type { Metadata, ServerInterceptingCallInterface } from '@grpc/grpc-js'
import { transportOf } from './lib/grpc-transport.js'
import { sessionTlsPeer } from './lib/session-tls-peer.js'

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
  readonly #rawHeaders: readonly string[] | undefined
  readonly #remoteAddress: string | undefined
  constructor(
    call: ServerInterceptingCallInterface,
    readonly route: string,
    metadata: Metadata,
  ) {
    this.#call = call
    this.#metadata = metadata
    const { socket, session, rawHeaders } = transportOf(call)
    this.#rawHeaders = rawHeaders
    this.#remoteAddress = socket?.remoteAddress
    // grpc-js's auth context, when the walk found no session: a peer that cannot be closed
    const tls =
      socket instanceof TLSSocket && session ? sessionTlsPeer(socket, session) : authContextPeer(call)
    if (tls) (this as { tls?: TlsPeer }).tls = tls
  }
  get remoteAddress(): string | undefined {
    return this.#remoteAddress || this.#call.getConnectionInfo?.().remoteAddress || undefined
  }
  header(name: string): readonly string[] {
    const lower = name.toLowerCase()
    // The raw list keeps every value as sent, repeats included; the Metadata only what survived.
    if (this.#rawHeaders !== undefined) return rawHeader(this.#rawHeaders, lower)
    return this.#metadata.get(lower).map(text)
  }
}

/**
 * The one place that reads a gRPC call: the method path, every value of a metadata key as the
 * client sent it (binary values as base64), the TLS peer and the remote address. The method is
 * always `'POST'`.
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
