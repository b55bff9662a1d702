import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'

/**
 * TEST DOUBLE for the issuer's token endpoint (packages/issuer): a node:http(s) server on
 * 127.0.0.1 that speaks the contract of the real one (POST form, JSON token, RFC 6749 §5.2 errors)
 * and does whatever the test says next. Not a mock of our code: the client talks real HTTP to it.
 */
export interface TokenRequestSeen {
  readonly headers: IncomingMessage['headers']
  readonly form: URLSearchParams
  /** The client certificate's subject CN, over TLS. */
  readonly peerCn?: string
}

export type Reply =
  | { kind: 'token'; token: string; expiresIn: number; scope?: string }
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'raw'; status: number; body: string }
  | { kind: 'hang' }

export interface TokenEndpoint {
  readonly url: string
  readonly requests: TokenRequestSeen[]
  /** What the next requests get; the last one repeats. */
  reply(...replies: Reply[]): void
  close(): Promise<void>
}

export async function startTokenEndpoint(tls?: ServerOptions): Promise<TokenEndpoint> {
  const requests: TokenRequestSeen[] = []
  let queue: Reply[] = [{ kind: 'token', token: 'tok-1', expiresIn: 300 }]
  let issued = 0
  const hanging = new Set<ServerResponse>()

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const socket = req.socket as TLSSocket
      const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined
      requests.push({
        headers: req.headers,
        form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
        ...(peer?.subject?.CN ? { peerCn: String(peer.subject.CN) } : {}),
      })
      const reply = queue.length > 1 ? queue.shift()! : queue[0]!
      switch (reply.kind) {
        case 'token':
          issued++
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          res.end(
            JSON.stringify({
              access_token: reply.token.replace('#', String(issued)),
              token_type: 'Bearer',
              expires_in: reply.expiresIn,
              ...(reply.scope ? { scope: reply.scope } : {}),
            }),
          )
          return
        case 'json':
          res.writeHead(reply.status, { 'content-type': 'application/json' })
          res.end(JSON.stringify(reply.body))
          return
        case 'raw':
          res.writeHead(reply.status, { 'content-type': 'text/html' })
          res.end(reply.body)
          return
        case 'hang':
          hanging.add(res)
          return
      }
    })
  }
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/oauth/token`,
    requests,
    reply(...replies) {
      queue = replies
    },
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
