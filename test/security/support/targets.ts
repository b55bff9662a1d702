import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { apiKeyVerifier } from '@callsign/api-key'
import { type AuditEvent, type Caller, definePolicy, type Policy, type Verifier } from '@callsign/core'
import { auth as expressAuth } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import { auth as grpcAuth, getCaller as grpcGetCaller } from '@callsign/grpc'
import { jwtVerifier } from '@callsign/jwt'
import { mtlsVerifier } from '@callsign/mtls'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import express from 'express'
import Fastify from 'fastify'
import { grpcRoutes } from '../../adapters/support/harnesses.js'
import { bindTlsAndPlaintext } from '../../support/grpc-loopback.js'
import { httpsCall, requestingClientCertificates } from '../../support/https-call.js'
import { type Pair, type SecurityCredentials, SPIFFE_READER, SPIFFE_WRITER } from './credentials.js'

export type AdapterName = 'express' | 'fastify' | 'grpc'

/** One request as an attacker writes it: raw header pairs (duplicates and odd case kept). */
export interface RawRequest {
  /** HTTP method; ignored by gRPC. Default GET. */
  readonly method?: string
  /** HTTP path with query, or for gRPC the full method path. Default: the read route. */
  readonly path?: string
  readonly headers?: readonly (readonly [string, string])[]
  readonly cert?: Pair
}

/** What came back, plus everything the wire carried (for the "no secret" check). */
export interface Exchange {
  readonly status: number
  readonly code?: string
  readonly caller?: string
  readonly wire: string
}

export interface Target {
  readonly name: AdapterName
  readonly transport: 'http' | 'grpc'
  send(request: RawRequest): Promise<Exchange>
  /** How many times a protected or public handler ran. */
  handlerRuns(): number
  readonly audit: AuditEvent[]
  close(): Promise<void>
}

/** The HTTP policy: the adapters' contract routes plus a write-only DELETE and a mounted router. */
export const HTTP_POLICY = {
  'GET /orders/:id': ['orders:read'],
  'POST /orders': ['orders:write'],
  'DELETE /orders/:id': ['orders:write'],
  'GET /api/reports': ['orders:write'],
  'GET /healthz': 'public',
} as const

/** The policy grants of the suite's SPIFFE callers (the mTLS verifier authenticates only). */
export const REAL_GRANTS = {
  [SPIFFE_READER]: ['orders:read'],
  [SPIFFE_WRITER]: ['orders:read', 'orders:write'],
}

/** The three real verifiers over the suite's real material. */
export function realVerifiers(creds: SecurityCredentials): Verifier[] {
  return [
    apiKeyVerifier({ store: creds.store, header: 'x-api-key' }),
    jwtVerifier({
      issuer: [creds.jwt.issuer, creds.jwt.partner.issuer],
      audience: creds.jwt.audience,
      keys: { [creds.jwt.issuer]: [creds.jwt.jwk], [creds.jwt.partner.issuer]: [creds.jwt.partner.jwk] },
      tokenCache: false,
    }),
    mtlsVerifier({
      identity: 'spiffe',
      trustDomains: { 'mesh.local': { ca: creds.certs.ca } },
    }),
  ]
}

async function httpsExchange(
  port: number,
  creds: SecurityCredentials,
  request: RawRequest,
): Promise<Exchange> {
  const method = request.method ?? 'GET'
  const body = method === 'POST' || method === 'PUT' ? '{"item":"x"}' : undefined
  const given = request.headers ?? []
  const pairs =
    body && !given.some(([name]) => name.toLowerCase() === 'content-type')
      ? [...given, ['content-type', 'application/json'] as const]
      : given
  // Raw pairs keep duplicates and case; Node adds no Host header to them, so add one.
  const withHost = pairs.some(([name]) => name.toLowerCase() === 'host')
    ? pairs
    : [['host', `127.0.0.1:${port}`] as const, ...pairs]
  try {
    const answer = await httpsCall({
      port,
      method,
      path: request.path ?? '/orders/42',
      headers: withHost.flat(),
      ca: creds.certs.ca,
      ...(request.cert ? { cert: request.cert } : {}),
      ...(body ? { body } : {}),
    })
    let parsed: { code?: string; caller?: string | null } = {}
    try {
      parsed = answer.text ? JSON.parse(answer.text) : {}
    } catch {
      parsed = {}
    }
    return {
      status: answer.status,
      ...(parsed.code ? { code: parsed.code } : {}),
      ...(typeof parsed.caller === 'string' ? { caller: parsed.caller } : {}),
      wire: `${answer.status} ${answer.statusMessage}\n${answer.rawHeaders.join('\n')}\n\n${answer.text}`,
    }
  } catch (error) {
    // A handshake the server refused is an answer too: no status, nothing served.
    const code = (error as NodeJS.ErrnoException).code
    if (request.cert || code === 'ECONNRESET') return { status: 0, wire: String(code) }
    throw error
  }
}

function recorder() {
  const audit: AuditEvent[] = []
  let runs = 0
  return {
    audit,
    ran: () => {
      runs++
    },
    handlerRuns: () => runs,
  }
}

const callerId = (caller: Caller | null | undefined) => caller?.id ?? null

/** Express 5 over HTTPS (client certificates requested, not required) with the real verifiers. */
export async function expressTarget(
  creds: SecurityCredentials,
  verifiers = realVerifiers(creds),
  policy: Policy | { readonly current: Policy } = definePolicy({ routes: HTTP_POLICY, grants: REAL_GRANTS }),
) {
  const rec = recorder()
  const app = express()
  // A method-override middleware, as some apps have: the route gate must decide the route dispatched.
  app.use((req, _res, next) => {
    const override = req.headers['x-http-method-override']
    if (req.method === 'POST' && typeof override === 'string') req.method = override.toUpperCase()
    next()
  })
  app.use(express.json())
  const handler = (req: express.Request, res: express.Response) => {
    rec.ran()
    res.json({ caller: callerId(req.caller) })
  }
  app.get('/orders/:id', handler)
  app.post('/orders', handler)
  app.delete('/orders/:id', handler)
  app.get('/healthz', handler)
  app.get('/unmapped', handler)
  const api = express.Router()
  api.get('/reports', handler)
  app.use('/api', api)
  expressAuth(app, {
    policy,
    verifiers,
    audit: (event) => rec.audit.push(event),
    reportOnly: true,
    onReport: () => {},
  })
  const server = createHttpsServer(requestingClientCertificates(creds.certs), app)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return {
    name: 'express',
    transport: 'http',
    send: (request) => httpsExchange(port, creds, request),
    handlerRuns: rec.handlerRuns,
    audit: rec.audit,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  } satisfies Target
}

/** Fastify 5 over HTTPS (client certificates requested, not required) with the real verifiers. */
export async function fastifyTarget(creds: SecurityCredentials, verifiers = realVerifiers(creds)) {
  const rec = recorder()
  const app = Fastify({ https: requestingClientCertificates(creds.certs) })
  await app.register(fastifyAuth, {
    policy: definePolicy({ routes: HTTP_POLICY, grants: REAL_GRANTS }),
    verifiers,
    audit: (event) => rec.audit.push(event),
    reportOnly: true,
    onReport: () => {},
  })
  const handler = async (request: { caller: Caller | null }) => {
    rec.ran()
    return { caller: callerId(request.caller) }
  }
  app.get('/orders/:id', handler)
  app.post('/orders', handler)
  app.delete('/orders/:id', handler)
  app.get('/healthz', handler)
  app.get('/unmapped', handler)
  await app.register(
    async (api) => {
      api.get('/reports', handler)
    },
    { prefix: '/api' },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return {
    name: 'fastify',
    transport: 'http',
    send: (request) => httpsExchange(port, creds, request),
    handlerRuns: rec.handlerRuns,
    audit: rec.audit,
    close: () => app.close(),
  } satisfies Target
}

const protoFile = fileURLToPath(new URL('../../adapters/fixtures/contract.proto', import.meta.url))
const Orders = (
  grpc.loadPackageDefinition(loadSync(protoFile)) as unknown as {
    contract: { v1: { Orders: grpc.ServiceClientConstructor } }
  }
).contract.v1.Orders
const getDefinition = Orders.service.Get!

/** gRPC with the real verifiers: an mTLS port (client certificates required) and a plaintext loopback port. */
export async function grpcTarget(creds: SecurityCredentials, verifiers = realVerifiers(creds)) {
  const rec = recorder()
  const interceptor = grpcAuth({
    policy: definePolicy({ routes: grpcRoutes, grants: REAL_GRANTS }),
    verifiers,
    services: [Orders.service],
    audit: (event) => rec.audit.push(event),
    allowPlaintextLoopback: true,
    reportOnly: true,
    onReport: () => {},
  })
  const server = new grpc.Server({ interceptors: [interceptor] })
  const handler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    rec.ran()
    let caller = ''
    try {
      caller = grpcGetCaller(call).id
    } catch {
      caller = '' // a public method has no caller
    }
    callback(null, { caller })
  }
  server.addService(Orders.service, { Get: handler, Create: handler, Health: handler, Unmapped: handler })
  const { tlsPort, plainPort } = await bindTlsAndPlaintext(server, creds.certs)
  const clients: grpc.Client[] = []
  return {
    name: 'grpc',
    transport: 'grpc',
    send(request: RawRequest): Promise<Exchange> {
      const client = request.cert
        ? new grpc.Client(
            `localhost:${tlsPort}`,
            grpc.credentials.createSsl(creds.certs.ca, request.cert.key, request.cert.cert),
          )
        : new grpc.Client(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure())
      clients.push(client)
      const md = new grpc.Metadata()
      for (const [name, value] of request.headers ?? []) md.add(name.toLowerCase(), value)
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          request.path ?? '/contract.v1.Orders/Get',
          getDefinition.requestSerialize,
          getDefinition.responseDeserialize as (bytes: Buffer) => { caller: string },
          { id: '42' },
          md,
          { deadline: Date.now() + 10_000 },
          (error, reply) => {
            client.close()
            if (!error) {
              resolve({
                status: 0,
                ...(reply?.caller ? { caller: reply.caller } : {}),
                wire: JSON.stringify(reply),
              })
              return
            }
            const code = error.metadata?.get('callsign-error-code')[0]
            resolve({
              status: error.code,
              ...(code ? { code: String(code) } : {}),
              wire: `${error.code} ${error.details}\n${JSON.stringify(error.metadata?.toJSON() ?? {})}`,
            })
          },
        )
      })
    },
    handlerRuns: rec.handlerRuns,
    audit: rec.audit,
    async close() {
      for (const client of clients) client.close()
      server.forceShutdown()
    },
  } satisfies Target
}

export const TARGETS: Readonly<Record<AdapterName, (creds: SecurityCredentials) => Promise<Target>>> = {
  express: expressTarget,
  fastify: fastifyTarget,
  grpc: grpcTarget,
}
