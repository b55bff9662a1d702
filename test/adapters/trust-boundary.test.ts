import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { type AuditEvent, definePolicy, type Verifier } from '@callsign/core'
import { auth as expressAuth, requireScopes as expressRequireScopes } from '@callsign/express'
import { auth as fastifyAuth, requireScopes as fastifyRequireScopes } from '@callsign/fastify'
import { auth as grpcAuth, requireScopes as grpcRequireScopes } from '@callsign/grpc'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { grpcCurl } from '../support/grpc-curl.js'
import { tableVerifiers } from './support/test-verifiers.js'

// The trust boundary, row by row, over Express, Fastify and gRPC: the same input gives the same
// outcome and the same audit event. Requests go out as raw bytes (a TCP socket for HTTP/1.1, curl
// for HTTP/2) so the request-target and repeated headers are exactly what an attacker sends.
// Credentials are the table doubles of support/test-verifiers.ts; routing and wire are real.

const httpRoutes = {
  'GET /open/:id': 'public',
  'GET /late/:id': ['orders:read'],
  'POST /late/:id': ['orders:read'],
  'DELETE /late/:id': ['orders:write'],
  'GET /routed/late/:id': ['orders:write'],
  'POST /orders': ['orders:write'],
  'GET /scoped': ['orders:read'],
} as const

interface HttpTarget {
  readonly port: number
  readonly reached: string[]
  readonly params: string[]
  readonly events: AuditEvent[]
  close(): Promise<void>
}

interface Options {
  readonly verifiers?: Verifier[]
  readonly dryRun?: boolean
}

/** Reads `x-rewrite` (a new URL) and `x-http-method-override` (a new method, on POST only). */
function rewrite(req: { url?: string; method?: string; headers: Record<string, unknown> }): void {
  const target = req.headers['x-rewrite']
  if (typeof target === 'string') req.url = target
  const override = req.headers['x-http-method-override']
  if (req.method === 'POST' && typeof override === 'string') req.method = override.toUpperCase()
}

/**
 * Express with its usual front matter (a rewrite and a method override middleware, a JSON body
 * parser, an app.param callback) and auth() attached; then, after startup, a late app.get and a
 * late app.use(router).
 */
async function expressTarget(options: Options = {}): Promise<HttpTarget> {
  const reached: string[] = []
  const params: string[] = []
  const events: AuditEvent[] = []
  const app = express()
  app.use((req, _res, next) => {
    rewrite(req)
    next()
  })
  app.use(express.json())
  app.param('id', (_req, _res, next, id) => {
    params.push(String(id))
    next()
  })
  const handler = (name: string) => (_req: unknown, res: express.Response) => {
    reached.push(name)
    res.json({ reached: name })
  }
  app.get('/open/:id', handler('GET /open/:id'))
  app.post('/orders', handler('POST /orders'))
  app.get('/scoped', expressRequireScopes('orders:write'), handler('GET /scoped'))
  expressAuth(app, {
    policy: definePolicy({ routes: httpRoutes }),
    verifiers: options.verifiers ?? tableVerifiers(),
    audit: (event) => events.push(event),
    ...(options.dryRun ? { dryRun: true } : {}),
    reportOnly: true,
    onReport: () => {},
  })
  const server = createServer(app)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  // Registered after the server started: a direct route and a router.
  app.get('/late/:id', handler('GET /late/:id'))
  app.post('/late/:id', handler('POST /late/:id'))
  app.delete('/late/:id', handler('DELETE /late/:id'))
  const router = express.Router()
  router.get('/late/:id', handler('GET /routed/late/:id'))
  app.use('/routed', router)
  return { port: portOf(server), reached, params, events, close: () => closeServer(server) }
}

/** Fastify with the same rewrites (through its public rewriteUrl) and routes after the plugin. */
async function fastifyTarget(options: Options = {}): Promise<HttpTarget> {
  const reached: string[] = []
  const params: string[] = []
  const events: AuditEvent[] = []
  const app = Fastify({
    rewriteUrl(req) {
      rewrite(req)
      return req.url ?? '/'
    },
  })
  await app.register(fastifyAuth, {
    policy: definePolicy({ routes: httpRoutes }),
    verifiers: options.verifiers ?? tableVerifiers(),
    audit: (event) => events.push(event),
    ...(options.dryRun ? { dryRun: true } : {}),
    reportOnly: true,
    onReport: () => {},
  })
  // Fastify's counterpart of app.param: a preValidation hook that reads the params.
  app.addHook('preValidation', async (request) => {
    const id = (request.params as { id?: string } | undefined)?.id
    if (id !== undefined) params.push(id)
  })
  const handler = (name: string) => async () => {
    reached.push(name)
    return { reached: name }
  }
  app.get('/open/:id', handler('GET /open/:id'))
  app.post('/orders', handler('POST /orders'))
  app.get('/scoped', { onRequest: fastifyRequireScopes('orders:write') }, handler('GET /scoped'))
  app.get('/late/:id', handler('GET /late/:id'))
  app.post('/late/:id', handler('POST /late/:id'))
  app.delete('/late/:id', handler('DELETE /late/:id'))
  app.register(
    async (routed) => {
      routed.get('/late/:id', handler('GET /routed/late/:id'))
    },
    { prefix: '/routed' },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: portOf(app.server), reached, params, events, close: () => app.close() }
}

function portOf(server: Server): number {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  return address.port
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((done) => server.close(() => done()))
}

/** Sends raw HTTP/1.1 bytes and reads the answer until the server closes the connection. */
function raw(port: number, head: string, body = ''): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`${head}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    })
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])
      const code = /"code":"([A-Z_]+)"/.exec(text)?.[1]
      resolve({ status, ...(code ? { code } : {}) })
    })
  })
}

interface HttpRow {
  readonly name: string
  readonly head: (auth: string) => string
  readonly credential: 'none' | 'reader' | 'writer'
  readonly body?: string
  readonly status: number
  readonly code?: string
  /** The audit events the request leaves, as `decision reason METHOD route`. */
  readonly audit: readonly string[]
  /**
   * Express only, for a request that a middleware moves after Callsign's front gate: the gate's
   * decision for the request as it arrived comes first (both decisions are real, and both audited).
   */
  readonly movedFrom?: string
}

const CREDENTIAL = {
  none: '',
  reader: '\r\nAuthorization: Bearer valid-reader',
  writer: '\r\nAuthorization: Bearer valid-writer',
} as const

const HOST = '\r\nHost: svc'

/** Item 1 (late routes, three ways to reach them) and item 2 (absolute form before the body). */
const ROWS: readonly HttpRow[] = [
  {
    name: 'a late app.get route, reached directly: decided (control)',
    head: (a) => `DELETE /late/1 HTTP/1.1${HOST}${a}`,
    credential: 'reader',
    status: 403,
    code: 'ERR_INSUFFICIENT_SCOPE',
    audit: ['deny scope_missing DELETE /late/:id'],
  },
  {
    name: 'a late app.get route, absolute-form target, no credential',
    head: (a) => `DELETE http://svc/late/1 HTTP/1.1${HOST}${a}`,
    credential: 'none',
    status: 401,
    code: 'ERR_NO_CREDENTIAL',
    audit: ['deny no_credential DELETE /late/:id'],
  },
  {
    name: 'a late app.get route, reached by rewriting a public path',
    head: (a) => `GET /open/1 HTTP/1.1${HOST}\r\nX-Rewrite: /late/1${a}`,
    credential: 'none',
    status: 401,
    code: 'ERR_NO_CREDENTIAL',
    audit: ['deny no_credential GET /late/:id'],
    movedFrom: 'allow public GET /open/:id',
  },
  {
    name: 'a late app.get route, reached by X-HTTP-Method-Override',
    head: (a) => `POST /late/1 HTTP/1.1${HOST}\r\nX-HTTP-Method-Override: DELETE${a}`,
    credential: 'reader',
    status: 403,
    code: 'ERR_INSUFFICIENT_SCOPE',
    audit: ['deny scope_missing DELETE /late/:id'],
    movedFrom: 'allow granted POST /late/:id',
  },
  {
    name: 'a late router route, reached directly',
    head: (a) => `GET /routed/late/1 HTTP/1.1${HOST}${a}`,
    credential: 'reader',
    status: 403,
    code: 'ERR_INSUFFICIENT_SCOPE',
    audit: ['deny scope_missing GET /routed/late/:id'],
  },
  {
    name: 'a late router route, absolute-form target, no credential',
    head: (a) => `GET http://svc/routed/late/1 HTTP/1.1${HOST}${a}`,
    credential: 'none',
    status: 401,
    code: 'ERR_NO_CREDENTIAL',
    audit: ['deny no_credential GET /routed/late/:id'],
  },
  {
    name: 'a late router route, reached by rewriting a public path',
    head: (a) => `GET /open/1 HTTP/1.1${HOST}\r\nX-Rewrite: /routed/late/1${a}`,
    credential: 'none',
    status: 401,
    code: 'ERR_NO_CREDENTIAL',
    audit: ['deny no_credential GET /routed/late/:id'],
    movedFrom: 'allow public GET /open/:id',
  },
  {
    name: 'a late router route, reached by X-HTTP-Method-Override',
    head: (a) => `POST /routed/late/1 HTTP/1.1${HOST}\r\nX-HTTP-Method-Override: GET${a}`,
    credential: 'reader',
    status: 403,
    code: 'ERR_INSUFFICIENT_SCOPE',
    audit: ['deny scope_missing GET /routed/late/:id'],
  },
  {
    name: 'an absolute-form POST with a broken JSON body and no credential: 401 before the body parser',
    head: (a) => `POST http://svc/orders HTTP/1.1${HOST}\r\nContent-Type: application/json${a}`,
    credential: 'none',
    body: '{"broken":',
    status: 401,
    code: 'ERR_NO_CREDENTIAL',
    audit: ['deny no_credential POST /orders'],
  },
  {
    name: 'an absolute-form GET with a route parameter: refused before any app.param callback',
    head: (a) => `GET http://svc/late/7 HTTP/1.1${HOST}${a}`,
    credential: 'none',
    status: 401,
    code: 'ERR_NO_CREDENTIAL',
    audit: ['deny no_credential GET /late/:id'],
  },
  {
    name: 'the writer on the late route (control: allowed once, one allow event)',
    head: (a) => `DELETE http://svc/late/1 HTTP/1.1${HOST}${a}`,
    credential: 'writer',
    status: 200,
    audit: ['allow granted DELETE /late/:id'],
  },
]

const summary = (event: AuditEvent) => `${event.decision} ${event.reason} ${event.method} ${event.route}`

const httpTargets = { express: expressTarget, fastify: fastifyTarget }

for (const [name, start] of Object.entries(httpTargets)) {
  describe(`trust boundary over ${name}: routes added late, every request-target form`, () => {
    let target: HttpTarget
    beforeAll(async () => {
      target = await start()
    })
    afterAll(() => target?.close())

    for (const row of ROWS) {
      it(`${row.name}: ${row.status}${row.code ? ` ${row.code}` : ''}`, async () => {
        const before = {
          reached: target.reached.length,
          params: target.params.length,
          events: target.events.length,
        }
        const answer = await raw(target.port, row.head(CREDENTIAL[row.credential]), row.body)
        expect(answer).toEqual({ status: row.status, ...(row.code ? { code: row.code } : {}) })
        const audit = name === 'express' && row.movedFrom ? [row.movedFrom, ...row.audit] : row.audit
        expect(target.events.slice(before.events).map(summary)).toEqual(audit)
        if (row.status !== 200) {
          expect(target.reached.slice(before.reached)).toEqual([])
          expect(target.params.slice(before.params)).toEqual([])
        }
      })
    }
  })
}

// gRPC: the same contract for requireScopes, dry run and a verifier that breaks its contract.

const protoFile = fileURLToPath(new URL('./fixtures/contract.proto', import.meta.url))
const Orders = (
  grpc.loadPackageDefinition(loadSync(protoFile)) as unknown as {
    contract: { v1: { Orders: grpc.ServiceClientConstructor } }
  }
).contract.v1.Orders

const grpcRoutes = {
  '/contract.v1.Orders/Get': ['orders:read'],
  '/contract.v1.Orders/Create': ['orders:write'],
  '/contract.v1.Orders/Health': 'public',
  '/contract.v1.Orders/Unmapped': 'public',
} as const

interface AnyTarget {
  readonly events: AuditEvent[]
  readonly reached: string[]
  /** Calls the route that requires orders:read and, through requireScopes, orders:write too. */
  scoped(credential: 'reader' | 'writer'): Promise<{ status: number; code?: string }>
  close(): Promise<void>
}

async function grpcTarget(options: Options = {}): Promise<AnyTarget & { port: number }> {
  const events: AuditEvent[] = []
  const reached: string[] = []
  const server = new grpc.Server({
    interceptors: [
      grpcAuth({
        policy: definePolicy({ routes: grpcRoutes }),
        verifiers: options.verifiers ?? tableVerifiers(),
        services: [Orders.service],
        audit: (event) => events.push(event),
        ...(options.dryRun ? { dryRun: true } : {}),
        allowPlaintextLoopback: true,
      }),
    ],
  })
  const reply = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    reached.push(call.getPath())
    callback(null, { caller: '' })
  }
  server.addService(Orders.service, {
    Get: grpcRequireScopes('orders:write')(reply),
    Create: reply,
    Health: reply,
    Unmapped: reply,
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  )
  const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  return {
    port,
    events,
    reached,
    scoped: (credential) =>
      new Promise((resolve) => {
        const md = new grpc.Metadata()
        md.set('authorization', `Bearer valid-${credential}`)
        ;(client as unknown as Record<string, (...args: unknown[]) => void>).Get!(
          { id: '1' },
          md,
          (error: grpc.ServiceError | null) => {
            if (!error) return resolve({ status: 0 })
            const code = error.metadata?.get('callsign-error-code')[0]
            resolve({ status: error.code, ...(code ? { code: String(code) } : {}) })
          },
        )
      }),
    async close() {
      client.close()
      server.forceShutdown()
    },
  }
}

function httpScoped(start: (options: Options) => Promise<HttpTarget>) {
  return async (options: Options = {}): Promise<AnyTarget> => {
    const target = await start(options)
    return {
      events: target.events,
      reached: target.reached,
      scoped: (credential) => raw(target.port, `GET /scoped HTTP/1.1${HOST}${CREDENTIAL[credential]}`),
      close: () => target.close(),
    }
  }
}

const allTargets = {
  express: httpScoped(expressTarget),
  fastify: httpScoped(fastifyTarget),
  grpc: grpcTarget,
}

/** The route of the scoped call, as each transport names it. */
const SCOPED = { express: 'GET /scoped', fastify: 'GET /scoped', grpc: 'POST /contract.v1.Orders/Get' }
const REFUSED = { express: 403, fastify: 403, grpc: 7 }
const OK = { express: 200, fastify: 200, grpc: 0 }

/** A verifier that breaks its contract: it answers with something that is not a Caller. */
const brokenVerifier: Verifier = { kind: 'jwt', verify: () => ({ id: 42 }) as never }

for (const [name, start] of Object.entries(allTargets)) {
  const adapter = name as keyof typeof allTargets
  describe(`trust boundary over ${name}: every decision through core, audited`, () => {
    it('a requireScopes refusal leaves the allow of the route and a deny of its own', async () => {
      const target = await start()
      try {
        expect(await target.scoped('reader')).toEqual({
          status: REFUSED[adapter],
          code: 'ERR_INSUFFICIENT_SCOPE',
        })
        expect(target.reached).toEqual([])
        expect(target.events.map((event) => `${summary(event)} ${event.scopes.join(',')}`)).toEqual([
          `allow granted ${SCOPED[adapter]} orders:read`,
          `deny scope_missing ${SCOPED[adapter]} orders:write`,
        ])
      } finally {
        await target.close()
      }
    })

    it('a requireScopes pass is audited as the use of its scopes', async () => {
      const target = await start()
      try {
        expect(await target.scoped('writer')).toEqual({ status: OK[adapter] })
        expect(target.events.map((event) => `${summary(event)} ${event.scopes.join(',')}`)).toEqual([
          `allow granted ${SCOPED[adapter]} orders:read`,
          `allow granted ${SCOPED[adapter]} orders:write`,
        ])
      } finally {
        await target.close()
      }
    })

    it('in dry run, a requireScopes refusal is let through and recorded as would-deny', async () => {
      const target = await start({ dryRun: true })
      try {
        expect(await target.scoped('reader')).toEqual({ status: OK[adapter] })
        expect(target.events.map(summary)).toEqual([
          `allow granted ${SCOPED[adapter]}`,
          `would-deny scope_missing ${SCOPED[adapter]}`,
        ])
      } finally {
        await target.close()
      }
    })

    it('a verifier that returns something other than a Caller: 401/16 ERR_INVALID_CREDENTIAL and one audit event', async () => {
      const target = await start({ verifiers: [brokenVerifier] })
      try {
        const refused = adapter === 'grpc' ? 16 : 401
        expect(await target.scoped('reader')).toEqual({ status: refused, code: 'ERR_INVALID_CREDENTIAL' })
        expect(target.reached).toEqual([])
        expect(target.events.map(summary)).toEqual([`deny verifier_error ${SCOPED[adapter]}`])
      } finally {
        await target.close()
      }
    })
  })
}

/** Sends one request with repeated headers: raw HTTP/1.1 for Express and Fastify, curl over HTTP/2 for gRPC. */
function repeated(
  adapter: string,
  port: number,
  headers: string[],
): Promise<{ status: number; code?: string }> {
  if (adapter !== 'grpc') {
    return raw(port, `GET /scoped HTTP/1.1${HOST}${headers.map((header) => `\r\n${header}`).join('')}`)
  }
  return grpcCurl(port, '/contract.v1.Orders/Get', headers)
}

// curl runs as a child process: on a loaded machine it can take many seconds to start and finish
describe('trust boundary: two Authorization headers on one request (item 4)', { timeout: 90_000 }, () => {
  const starts = {
    express: async () => {
      const target = await expressTarget()
      return { ...target, warm: async () => {} }
    },
    fastify: async () => {
      const target = await fastifyTarget()
      return { ...target, warm: async () => {} }
    },
    grpc: async () => {
      const target = await grpcTarget()
      // The first call a gRPC server gets is how Callsign finds its HTTP/2 server: see grpc-transport.ts.
      return { ...target, params: [], warm: () => target.scoped('writer').then(() => undefined) }
    },
  }
  for (const [name, start] of Object.entries(starts)) {
    it(`${name}: refused as ERR_AMBIGUOUS_REQUEST (duplicate_authorization), in either order`, async () => {
      const target = await start()
      try {
        await target.warm()
        const before = target.events.length
        const expected = { status: name === 'grpc' ? 16 : 400, code: 'ERR_AMBIGUOUS_REQUEST' }
        for (const pair of [
          ['Authorization: Bearer valid-reader', 'Authorization: Bearer valid-writer'],
          ['Authorization: Bearer valid-writer', 'Authorization: Bearer valid-reader'],
        ]) {
          expect(await repeated(name, target.port, pair)).toEqual(expected)
        }
        expect(target.events.slice(before).map((event) => `${event.decision} ${event.reason}`)).toEqual([
          'deny duplicate_authorization',
          'deny duplicate_authorization',
        ])
      } finally {
        await target.close()
      }
    })
  }
})
