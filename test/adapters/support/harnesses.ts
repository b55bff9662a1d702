import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Caller, PipelineOptions, PolicyInput, Verifier } from '@callsign/core'
import { definePolicy } from '@callsign/core'
import { auth as expressAuth } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import { auth as grpcAuth, getCaller as grpcGetCaller } from '@callsign/grpc'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import express from 'express'
import Fastify from 'fastify'
import { bindTlsAndPlaintext } from '../../support/grpc-loopback.js'
import { httpsCall, requestingClientCertificates } from '../../support/https-call.js'
import type { DevCerts } from './dev-certs.js'

/** Further pipeline options for a harness (dry run, audit sink, clock, telemetry). */
export type ExtraOptions = Partial<Pick<PipelineOptions, 'dryRun' | 'audit' | 'clock' | 'telemetry'>> & {
  routesFile?: string
  /** The policy's grants (the real mTLS verifier authenticates only: its callers' scopes are these). */
  grants?: PolicyInput['grants']
  /** Plays the part of an HTTP or gRPC instrumentation: a span active around each request. */
  instrument?: Instrument
}

/** Starts a span for a request; `run` makes it active, `end` ends it once the answer is sent. */
export interface Instrument {
  start(name: string): { run<T>(fn: () => T): T; end(): void }
}

/** What a scenario aims at: a route needing orders:read, one needing orders:write, a public one, an unmapped one. */
export type Target = 'read' | 'write' | 'public' | 'unmapped'

export interface Credentials {
  readonly bearer?: string
  readonly apiKey?: string
  /** CN of a client certificate signed by the test CA. */
  readonly certCn?: string
  /** A ready client certificate and its key (PEM), presented as is; wins over `certCn`. */
  readonly cert?: ClientPair
}

/** A client certificate and its private key, PEM. */
export interface ClientPair {
  readonly key: string | Buffer
  readonly cert: string | Buffer
}

/** How the gRPC harness binds its TLS port. */
export interface GrpcTlsOptions {
  /**
   * Server credentials for the TLS port. Default: `createSsl` over the test CA with client
   * certificates required (the handshake refuses any other certificate).
   */
  readonly serverCredentials?: grpc.ServerCredentials
}

/** The client pair a scenario presents, if any. */
const clientPair = (certs: DevCerts, credentials: Credentials): ClientPair | undefined =>
  credentials.cert ?? (credentials.certCn ? certs.client(credentials.certCn) : undefined)

/** One answer, in transport-neutral form plus the raw transport status. */
export interface Outcome {
  readonly status: number
  readonly code?: string
  readonly caller?: string | null
}

export interface Harness {
  readonly name: string
  readonly transport: 'http' | 'grpc'
  send(target: Target, credentials: Credentials): Promise<Outcome>
  close(): Promise<void>
}

export const httpRoutes = {
  'GET /orders/:id': ['orders:read'],
  'POST /orders': ['orders:write'],
  'GET /healthz': 'public',
} as const

export const grpcRoutes = {
  '/contract.v1.Orders/Get': ['orders:read'],
  '/contract.v1.Orders/Create': ['orders:write'],
  '/contract.v1.Orders/Health': 'public',
} as const

const HTTP_TARGETS: Record<Target, readonly [string, string]> = {
  read: ['GET', '/orders/42'],
  write: ['POST', '/orders'],
  public: ['GET', '/healthz'],
  unmapped: ['GET', '/unmapped'],
}
const GRPC_TARGETS: Record<Target, string> = {
  read: 'Get',
  write: 'Create',
  public: 'Health',
  unmapped: 'Unmapped',
}

async function httpsSend(
  port: number,
  certs: DevCerts,
  target: Target,
  credentials: Credentials,
): Promise<Outcome> {
  const [method, path] = HTTP_TARGETS[target]
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (credentials.bearer) headers.authorization = `Bearer ${credentials.bearer}`
  if (credentials.apiKey) headers['x-api-key'] = credentials.apiKey
  const pair = clientPair(certs, credentials)
  const answer = await httpsCall({
    port,
    method,
    path,
    headers,
    ca: certs.ca,
    ...(pair ? { cert: pair } : {}),
    ...(method === 'POST' ? { body: JSON.stringify({ item: 'x' }) } : {}),
  })
  const body = answer.text ? (JSON.parse(answer.text) as { code?: string; caller?: string | null }) : {}
  return {
    status: answer.status,
    ...(body.code ? { code: body.code } : {}),
    ...('caller' in body ? { caller: body.caller } : {}),
  }
}

async function listen(server: HttpsServer): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return (server.address() as AddressInfo).port
}

const callerId = (caller: Caller | null | undefined) => caller?.id ?? null

/** Express 5 over HTTPS with optional client certificates. */
export async function expressHarness(
  certs: DevCerts,
  verifiers: Verifier[],
  extra: ExtraOptions = {},
): Promise<Harness> {
  const app = express()
  app.use(express.json())
  app.get('/orders/:id', (req, res) => res.json({ caller: callerId(req.caller) }))
  app.post('/orders', (req, res) => res.status(200).json({ caller: callerId(req.caller) }))
  app.get('/healthz', (req, res) => res.json({ caller: callerId(req.caller) }))
  app.get('/unmapped', (req, res) => res.json({ caller: callerId(req.caller) }))
  const { instrument, grants, ...options } = extra
  expressAuth(app, {
    policy: definePolicy({ routes: httpRoutes, ...(grants ? { grants } : {}) }),
    verifiers,
    ...options,
    reportOnly: true,
    onReport: () => {},
  })
  const server = createHttpsServer(
    requestingClientCertificates(certs),
    instrument
      ? (req, res) => {
          const span = instrument.start(`${req.method} ${req.url}`)
          res.on('finish', () => span.end())
          span.run(() => app(req, res))
        }
      : app,
  )
  const port = await listen(server)
  return {
    name: 'express',
    transport: 'http',
    send: (target, credentials) => httpsSend(port, certs, target, credentials),
    close: () => new Promise((done) => server.close(() => done())),
  }
}

/** Fastify 5 over HTTPS with optional client certificates. */
export async function fastifyHarness(
  certs: DevCerts,
  verifiers: Verifier[],
  extra: ExtraOptions = {},
): Promise<Harness> {
  const app = Fastify({ https: requestingClientCertificates(certs) })
  const { instrument, grants, ...options } = extra
  if (instrument) {
    app.addHook('onRequest', (request, reply, done) => {
      const span = instrument.start(`${request.method} ${request.url}`)
      reply.raw.on('finish', () => span.end())
      span.run(done)
    })
  }
  await app.register(fastifyAuth, {
    policy: definePolicy({ routes: httpRoutes, ...(grants ? { grants } : {}) }),
    verifiers,
    ...options,
    reportOnly: true,
    onReport: () => {},
  })
  const reply = async (request: { caller: Caller | null }) => ({ caller: callerId(request.caller) })
  app.get('/orders/:id', reply)
  app.post('/orders', reply)
  app.get('/healthz', reply)
  app.get('/unmapped', reply)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  return {
    name: 'fastify',
    transport: 'http',
    send: (target, credentials) => httpsSend(port, certs, target, credentials),
    close: () => app.close(),
  }
}

const protoFile = fileURLToPath(new URL('../fixtures/contract.proto', import.meta.url))
const Orders = (
  grpc.loadPackageDefinition(loadSync(protoFile)) as unknown as {
    contract: { v1: { Orders: grpc.ServiceClientConstructor } }
  }
).contract.v1.Orders

/**
 * gRPC: an mTLS port for scenarios with a client certificate (grpc-js requires one when it checks
 * them) and a plaintext loopback port for the others, on the same server.
 */
export async function grpcHarness(
  certs: DevCerts,
  verifiers: Verifier[],
  extra: ExtraOptions = {},
  tls: GrpcTlsOptions = {},
): Promise<Harness> {
  const { instrument, grants, ...options } = extra
  const interceptor = grpcAuth({
    policy: definePolicy({ routes: grpcRoutes, ...(grants ? { grants } : {}) }),
    verifiers,
    services: [Orders.service],
    ...options,
    allowPlaintextLoopback: true,
    reportOnly: true,
    onReport: () => {},
  })
  const interceptors = instrument ? [spanInterceptor(instrument), interceptor] : [interceptor]
  const server = new grpc.Server({ interceptors })
  const handler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    let caller: string | null = null
    try {
      caller = grpcGetCaller(call).id
    } catch {
      caller = null // a public method has no caller
    }
    callback(null, { caller: caller ?? '' })
  }
  server.addService(Orders.service, { Get: handler, Create: handler, Health: handler, Unmapped: handler })
  const { tlsPort, plainPort } = await bindTlsAndPlaintext(server, certs, tls.serverCredentials)
  const clients: grpc.Client[] = []
  return {
    name: 'grpc',
    transport: 'grpc',
    send(target, credentials) {
      const pair = clientPair(certs, credentials)
      const client = pair
        ? new Orders(
            `localhost:${tlsPort}`,
            grpc.credentials.createSsl(certs.ca, Buffer.from(pair.key), Buffer.from(pair.cert)),
          )
        : new Orders(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure())
      clients.push(client)
      const md = new grpc.Metadata()
      if (credentials.bearer) md.set('authorization', `Bearer ${credentials.bearer}`)
      if (credentials.apiKey) md.set('x-api-key', credentials.apiKey)
      return new Promise((resolve) => {
        const method = (client as unknown as Record<string, (...args: unknown[]) => void>)[
          GRPC_TARGETS[target]
        ]!
        method.call(
          client,
          { id: '42' },
          md,
          (error: grpc.ServiceError | null, reply: { caller: string }) => {
            if (!error) return resolve({ status: 0, caller: reply.caller || null })
            const code = error.metadata?.get('callsign-error-code')[0]
            resolve({ status: error.code, ...(code ? { code: String(code) } : {}) })
          },
        )
      })
    },
    async close() {
      for (const client of clients) client.close()
      server.forceShutdown()
    },
  }
}

/** An outer interceptor that keeps a span active while the inner ones see the call's metadata. */
function spanInterceptor(instrument: Instrument): grpc.ServerInterceptor {
  return (descriptor, call) => {
    const span = instrument.start(descriptor.path)
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next({ onReceiveMetadata: (metadata, forward) => span.run(() => forward(metadata)) }),
      sendStatus: (status, forward) => {
        forward(status)
        span.end()
      },
    })
  }
}
