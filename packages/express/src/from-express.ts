import type { AuthRequest } from '@callsign/core'
import { fromNodeRequest } from '@callsign/core/adapter'
import type { Request } from 'express'

/**
 * The one place that reads an Express request: the method and the matched route pattern (mount
 * prefix included) come from the adapter's routing; headers, TLS peer and remote address from
 * the Node request underneath.
 *
 * @example
 * const decision = await pipeline.decide(fromExpress(req, 'GET', '/orders/:id'))
 */
export function fromExpress(req: Request, method: string, route: string): AuthRequest {
  return fromNodeRequest(req, method, route)
}
