import type { IncomingMessage } from 'node:http'
import { TLSSocket } from 'node:tls'
import { type AuthRequest, type TlsPeer, tlsPeerFromSocket } from '@callsign/core'
import type { FastifyRequest } from 'fastify'

const NONE: readonly string[] = Object.freeze([])

type Distinct = Record<string, string[] | undefined>

/** `headersDistinct` keeps duplicate headers; injected requests lack it, so rebuild it from rawHeaders. */
function distinct(raw: IncomingMessage): Distinct {
  if (raw.headersDistinct) return raw.headersDistinct
  const out: Distinct = {}
  const pairs = raw.rawHeaders ?? []
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!.toLowerCase()
    const values = out[name] ?? []
    values.push(pairs[i + 1]!)
    out[name] = values
  }
  return out
}

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
    return distinct(this.#raw)[name.toLowerCase()] ?? NONE
  }
}

/**
 * The one place that reads a Fastify request: method, the matched route (`routeOptions.url`, with
 * the plugin prefix), every value of a header (`headersDistinct` keeps duplicates), the TLS peer
 * and the remote address.
 *
 * @example
 * const decision = await pipeline.decide(fromFastify(request, '/orders/:id'))
 */
export function fromFastify(request: FastifyRequest, route: string): AuthRequest {
  return new FastifyAuthRequest(request.raw, request.method.toUpperCase(), route)
}
