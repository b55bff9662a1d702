import { TLSSocket } from 'node:tls'
import { type AuthRequest, tlsPeerFromSocket } from '@callsign/core'
import type { FastifyRequest } from 'fastify'

const NONE: readonly string[] = Object.freeze([])

type Distinct = Record<string, string[] | undefined>

/** `headersDistinct` keeps duplicate headers; injected requests lack it, so rebuild it from rawHeaders. */
function distinct(raw: FastifyRequest['raw']): Distinct {
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

/**
 * The one place that reads a Fastify request: method, the matched route (`routeOptions.url`, with
 * the plugin prefix), every value of a header (`headersDistinct` keeps duplicates), the TLS peer
 * and the remote address.
 *
 * @example
 * const decision = await pipeline.decide(fromFastify(request, '/orders/:id'))
 */
export function fromFastify(request: FastifyRequest, route: string): AuthRequest {
  const raw = request.raw
  const socket = raw.socket
  return {
    transport: 'http',
    method: request.method.toUpperCase(),
    route,
    header: (name) => distinct(raw)[name.toLowerCase()] ?? NONE,
    ...(socket instanceof TLSSocket ? { tls: tlsPeerFromSocket(socket) } : {}),
    ...(socket?.remoteAddress ? { remoteAddress: socket.remoteAddress } : {}),
  }
}
