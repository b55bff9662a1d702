import type { IncomingMessage } from 'node:http'
import { TLSSocket } from 'node:tls'
import { type AuthRequest, rawHeader, type TlsPeer, tlsPeerFromSocket } from '@callsign/core'
import type { FastifyRequest } from 'fastify'

/** One request as the pipeline sees it: a class, so no closure or spread is built per request. */
class FastifyAuthRequest implements AuthRequest {
  readonly transport = 'http' as const
  declare readonly tls?: TlsPeer
  declare readonly remoteAddress?: string
  readonly #raw: IncomingMessage
  constructor(
    raw: IncomingMessage,
    readonly method: string,
    readonly route: string,
  ) {
    this.#raw = raw
    const socket = raw.socket
    if (socket instanceof TLSSocket) (this as { tls?: TlsPeer }).tls = tlsPeerFromSocket(socket)
    if (socket?.remoteAddress) (this as { remoteAddress?: string }).remoteAddress = socket.remoteAddress
  }
  header(name: string): readonly string[] {
    return rawHeader(this.#raw.rawHeaders, name.toLowerCase())
  }
}

/**
 * The one place that reads a Fastify request: method, the matched route (`routeOptions.url`, with
 * the plugin prefix), every value of a header (from the raw header list, so duplicates are kept), the TLS peer
 * and the remote address.
 *
 * @example
 * const decision = await pipeline.decide(fromFastify(request, '/orders/:id'))
 */
export function fromFastify(request: FastifyRequest, route: string): AuthRequest {
  return new FastifyAuthRequest(request.raw, request.method.toUpperCase(), route)
}
