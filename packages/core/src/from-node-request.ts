import type { IncomingMessage } from 'node:http'
import { TLSSocket } from 'node:tls'
import type { AuthRequest, TlsPeer } from './auth-request.js'
import { rawHeader } from './raw-header.js'
import { tlsPeerFromSocket } from './tls-peer-from-socket.js'

/** One request as the pipeline sees it: a class, so no closure or spread is built per request. */
class NodeAuthRequest implements AuthRequest {
  readonly transport = 'http' as const
  declare readonly tls?: TlsPeer
  readonly #raw: IncomingMessage
  constructor(
    raw: IncomingMessage,
    readonly method: string,
    readonly route: string,
  ) {
    this.#raw = raw
    const socket = raw.socket
    if (socket instanceof TLSSocket) (this as { tls?: TlsPeer }).tls = tlsPeerFromSocket(socket)
  }
  /** Read when asked for (the audit event), not on every request. */
  get remoteAddress(): string | undefined {
    return this.#raw.socket?.remoteAddress || undefined
  }
  header(name: string): readonly string[] {
    return rawHeader(this.#raw.rawHeaders, name.toLowerCase())
  }
}

/**
 * The `AuthRequest` of a Node HTTP(S) request, for the HTTP adapters: every value of a header (from
 * the raw header list, so duplicates are kept), the TLS peer and the remote address. The adapter
 * supplies what only its framework knows: the method it dispatches and the route it matched.
 *
 * @example
 * const decision = await pipeline.decide(fromNodeRequest(req.raw, 'GET', '/orders/:id'))
 */
export function fromNodeRequest(raw: IncomingMessage, method: string, route: string): AuthRequest {
  return new NodeAuthRequest(raw, method.toUpperCase(), route)
}
