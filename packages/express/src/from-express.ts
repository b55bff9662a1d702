import { TLSSocket } from 'node:tls'
import { type AuthRequest, tlsPeerFromSocket } from '@callsign/core'
import type { Request } from 'express'

const NONE: readonly string[] = Object.freeze([])

/**
 * The one place that reads an Express request: method, the matched route pattern (mount prefix
 * included), every value of a header (`headersDistinct` keeps duplicates), the TLS peer and the
 * remote address.
 *
 * @example
 * const decision = await pipeline.decide(fromExpress(req, 'GET', '/orders/:id'))
 */
export function fromExpress(req: Request, method: string, route: string): AuthRequest {
  const socket = req.socket
  return {
    transport: 'http',
    method: method.toUpperCase(),
    route,
    header: (name) => req.headersDistinct[name.toLowerCase()] ?? NONE,
    tls: socket instanceof TLSSocket ? tlsPeerFromSocket(socket) : undefined,
    remoteAddress: socket?.remoteAddress,
  }
}
