import type { AuthRequest } from '@callsign/core'
import { fromNodeRequest } from '@callsign/core/adapter'
import type { FastifyRequest } from 'fastify'

/**
 * The one place that reads a Fastify request: the matched route (`routeOptions.url`, with the
 * plugin prefix) comes from the adapter; method, headers, TLS peer and remote address from the
 * Node request underneath.
 *
 * @example
 * const decision = await pipeline.decide(fromFastify(request, '/orders/:id'))
 */
export function fromFastify(request: FastifyRequest, route: string): AuthRequest {
  return fromNodeRequest(request.raw, request.method, route)
}
