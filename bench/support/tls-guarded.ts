import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { Pipeline, TlsPeer } from '@callsign/core'

/**
 * An HTTPS request listener that asks `pipeline` about `GET /orders` for the request's TLS peer
 * (read by `peerOf`) and answers 200 `ok` when allowed, 401 when refused.
 */
export function tlsGuarded(pipeline: Pipeline, peerOf: (socket: TLSSocket) => TlsPeer | undefined) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const tls = peerOf(req.socket as TLSSocket)
    const decision = await pipeline.decide({
      transport: 'http',
      method: 'GET',
      route: '/orders',
      header: () => [],
      tls,
    })
    res.statusCode = decision.allowed ? 200 : 401
    res.end('ok')
  }
}
