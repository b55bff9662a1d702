import { type Agent, createServer, request as httpsRequest, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket, TlsOptions } from 'node:tls'
import {
  type AuditEvent,
  createPipeline,
  definePolicy,
  type PolicyInput,
  type Verifier,
} from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import { type ChainReads, tlsPeerOf } from './tls-peer.js'

export interface TestServer {
  readonly server: Server
  readonly url: string
  readonly audit: AuditEvent[]
  readonly reads: ChainReads
  close(): Promise<void>
}

/**
 * A real HTTPS server on 127.0.0.1 that runs the core pipeline with the given verifiers, the way
 * an adapter does: GET /orders needs orders:read, GET /whoami needs mesh:call. The callers' scopes
 * are the policy's `grants` (the mTLS verifier only authenticates).
 */
export async function startServer(
  tls: TlsOptions,
  verifiers: Verifier[],
  grants?: PolicyInput['grants'],
): Promise<TestServer> {
  const audit: AuditEvent[] = []
  const reads: ChainReads = { count: 0 }
  const policy = definePolicy({
    routes: { 'GET /orders': ['orders:read'], 'GET /whoami': ['mesh:call'], 'GET /healthz': 'public' },
    ...(grants === undefined ? {} : { grants }),
  })
  const pipeline = createPipeline({ policy, verifiers, audit: (event) => audit.push(event) })
  const peers = new WeakMap<object, ReturnType<typeof tlsPeerOf>>()
  const server = createServer(tls, async (req, res) => {
    const socket = req.socket as TLSSocket
    let peer = peers.get(socket)
    if (!peer) {
      peer = tlsPeerOf(socket, reads)
      peers.set(socket, peer)
    }
    const decision = await pipeline.decide({
      transport: 'http',
      method: req.method ?? 'GET',
      route: (req.url ?? '/').split('?')[0]!,
      header: (name) => {
        const value = req.headers[name]
        return value === undefined ? [] : Array.isArray(value) ? value : [value]
      },
      tls: peer,
      remoteAddress: socket.remoteAddress,
    })
    if (decision.allowed) {
      const caller = decision.caller
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify(
          caller ? { id: caller.id, scopes: [...caller.scopes], credentialId: caller.credentialId } : {},
        ),
      )
      return
    }
    const refusal = httpRefusal(decision.error)
    res.writeHead(refusal.status, refusal.headers)
    res.end(JSON.stringify(refusal.body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `https://127.0.0.1:${port}`,
    audit,
    reads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
  readonly serverCertificate?: Buffer
}

/** One HTTPS GET with the given client TLS options (a fresh connection unless an agent is given). */
export function get(
  url: string,
  tls: { ca?: unknown; cert?: unknown; key?: unknown; servername?: string },
  agent?: Agent,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...(tls as object), agent: agent ?? false, method: 'GET' }, (res) => {
      const serverCertificate = (res.socket as TLSSocket).getPeerCertificate()?.raw
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, serverCertificate }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
