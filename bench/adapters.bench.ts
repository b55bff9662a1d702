import { Agent, createServer, IncomingMessage, request, type Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { type Caller, definePolicy, type Verifier } from '@callsign/core'
import { auth as expressAuth } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import { auth as grpcAuth } from '@callsign/grpc'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { metrics } from '@opentelemetry/api'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { type Measurement, measure, table } from './support/measure.js'

const caller: Caller = Object.freeze({
  id: 'bench',
  kind: 'api-key',
  scopes: new Set(['orders:read']),
  credentialId: 'k1',
  attributes: {},
})
/** Allows everything: the figures are the adapter's own cost plus the pipeline, not a verifier's. */
// Synchronous, as the built-in verifiers are for a cached key or token and for mTLS.
const alwaysAllow: Verifier = { kind: 'api-key', verify: () => caller }
const options = () => ({
  policy: definePolicy({
    routes: { 'GET /orders/:id': ['orders:read'], '/contract.v1.Orders/Get': ['orders:read'] },
  }),
  verifiers: [alwaysAllow],
  reportOnly: true,
  onReport: () => {},
})

const agent = new Agent({ keepAlive: true, maxSockets: 1 })
function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/orders/7', agent }, (res) => {
      res.resume()
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

/** A socket that discards what is written: real Node request/response objects, no network. */
class DiscardSocket extends Duplex {
  override _read() {}
  override _write(_chunk: unknown, _encoding: unknown, callback: () => void) {
    callback()
  }
}

/** One GET through a request listener in process, resolved when the response finishes. */
function injectInto(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  path = '/orders/7',
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new DiscardSocket() as unknown as ConstructorParameters<typeof IncomingMessage>[0]
    const req = new IncomingMessage(socket)
    req.method = 'GET'
    req.url = path
    req.headers = { host: 'bench' }
    req.rawHeaders = ['host', 'bench']
    req.push(null)
    const res = new ServerResponse(req)
    res.assignSocket(socket)
    res.on('finish', () =>
      res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
    )
    listener(req, res)
  })
}

async function listen(server: Server): Promise<number> {
  // The client's keep-alive socket can sit idle longer than Node's 5 s server timeout between
  // rounds; the server closing it just as the client reuses it is an ECONNRESET, not a figure.
  server.keepAliveTimeout = 120_000
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return (server.address() as AddressInfo).port
}

function expressApp(guarded: boolean) {
  const app = express()
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id })
  })
  if (guarded) expressAuth(app, options())
  return app
}

/** Express with `count` routes `/r<i>/:id`; requests go to the last one, which Express matches last. */
function expressAppWithRoutes(count: number, guarded: boolean) {
  const app = express()
  const routes: Record<string, string[]> = {}
  for (let i = 0; i < count; i++) {
    app.get(`/r${i}/:id`, (req, res) => {
      res.json({ id: req.params.id })
    })
    routes[`GET /r${i}/:id`] = ['orders:read']
  }
  if (guarded) expressAuth(app, { ...options(), policy: definePolicy({ routes }) })
  return { app, path: `/r${count - 1}/7` }
}

async function fastifyApp(guarded: boolean): Promise<FastifyInstance> {
  const app = Fastify({ keepAliveTimeout: 120_000 })
  if (guarded) await app.register(fastifyAuth, options())
  app.get('/orders/:id', async (req) => ({ id: (req.params as { id: string }).id }))
  await app.ready()
  return app
}

/** CPU time (user + system, this process: client and server) per operation, in µs. */
async function cpuPerOp(op: () => Promise<unknown>, count: number): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < count; i++) await op()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / count
}

async function pairedCpu(
  bare: () => Promise<unknown>,
  guarded: () => Promise<unknown>,
  count: number,
  rounds = 7,
) {
  const deltas: number[] = []
  for (let round = 0; round < rounds; round++) {
    const a = await cpuPerOp(bare, count)
    const b = await cpuPerOp(guarded, count)
    deltas.push(b - a)
  }
  return deltas.sort((x, y) => x - y)[Math.floor(deltas.length / 2)]!
}

const delta = (rows: Measurement[], a: string, b: string) =>
  ((rows.find((r) => r.name === b)!.median - rows.find((r) => r.name === a)!.median) / 1000).toFixed(1)

/**
 * The adapters' own overhead: each framework bare and with Callsign (an always-allow verifier, a
 * scoped route), both served over loopback in this process and measured in interleaved rounds.
 */
export async function run(): Promise<string> {
  const out: string[] = ['## Adapters: overhead against the bare framework', '']

  // Express: in process (real IncomingMessage/ServerResponse, no socket I/O) and over HTTP.
  const bareApp = expressApp(false)
  const guardedApp = expressApp(true)
  // The same guarded app made while an OpenTelemetry SDK (in-memory metric reader) is registered:
  // its pipeline counts and times every decision. The SDK is unregistered again at once, so every
  // other app here runs with no SDK, as the API's no-op.
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  metrics.setGlobalMeterProvider(meterProvider)
  const meteredApp = expressApp(true)
  metrics.disable()
  const bareExpress = createServer(bareApp)
  const guardedExpress = createServer(guardedApp)
  const [bareExpressPort, guardedExpressPort] = [await listen(bareExpress), await listen(guardedExpress)]
  const expressBare = () => injectInto(bareApp)
  const expressGuarded = () => injectInto(guardedApp)
  const expressRows = await measure(
    [
      ['express 5 bare (in process)', expressBare],
      ['express 5 + @callsign/express (in process)', expressGuarded],
      [
        'express 5 + @callsign/express + OpenTelemetry SDK, in-memory metric reader (in process)',
        () => injectInto(meteredApp),
      ],
      ['express 5 bare (HTTP)', () => get(bareExpressPort)],
      ['express 5 + @callsign/express (HTTP)', () => get(guardedExpressPort)],
    ],
    { iterations: 1_000, rounds: 7, warmup: 1_000 },
  )
  const expressCpu = await pairedCpu(expressBare, expressGuarded, 2_000)
  const meteredCpu = await pairedCpu(expressGuarded, () => injectInto(meteredApp), 2_000)
  await meterProvider.shutdown()
  bareExpress.close()
  guardedExpress.close()

  // Express with 10 and with 10 000 routes, the request for the last one: Callsign's added cost
  // should not grow with the route table (Express's own matching does).
  const sized = [10, 10_000].flatMap((count) =>
    [false, true].map((guarded) => {
      const { app, path } = expressAppWithRoutes(count, guarded)
      const name = `express 5 ${guarded ? '+ @callsign/express' : 'bare'}, ${count} routes (in process)`
      return [name, () => injectInto(app, path)] as [string, () => Promise<void>]
    }),
  )
  const sizedRows = await measure(sized, { iterations: 200, rounds: 7, warmup: 200 })

  // Fastify, in process (inject) and over real HTTP.
  const bareFastify = await fastifyApp(false)
  const guardedFastify = await fastifyApp(true)
  await bareFastify.listen({ port: 0, host: '127.0.0.1' })
  await guardedFastify.listen({ port: 0, host: '127.0.0.1' })
  const portOf = (app: FastifyInstance) => (app.server.address() as AddressInfo).port
  const injectBare = () => bareFastify.inject({ url: '/orders/7' })
  const injectGuarded = () => guardedFastify.inject({ url: '/orders/7' })
  const fastifyRows = await measure(
    [
      ['fastify 5 bare (inject)', injectBare],
      ['fastify 5 + @callsign/fastify (inject)', injectGuarded],
      ['fastify 5 bare (HTTP)', () => get(portOf(bareFastify))],
      ['fastify 5 + @callsign/fastify (HTTP)', () => get(portOf(guardedFastify))],
    ],
    { iterations: 1_000, rounds: 7, warmup: 1_000 },
  )
  const fastifyCpu = await pairedCpu(injectBare, injectGuarded, 2_000)
  await bareFastify.close()
  await guardedFastify.close()

  // gRPC unary over a plaintext loopback channel.
  const proto = fileURLToPath(new URL('../test/adapters/fixtures/contract.proto', import.meta.url))
  const Orders = (
    grpc.loadPackageDefinition(loadSync(proto)) as unknown as {
      contract: { v1: { Orders: grpc.ServiceClientConstructor } }
    }
  ).contract.v1.Orders
  const grpcServer = async (guarded: boolean) => {
    const interceptors = guarded
      ? [grpcAuth({ ...options(), services: [Orders.service], allowPlaintextLoopback: true })]
      : []
    const server = new grpc.Server({ interceptors })
    const reply = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { caller: 'x' })
    server.addService(Orders.service, { Get: reply, Create: reply, Health: reply, Unmapped: reply })
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    )
    const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
    const call = () =>
      new Promise<void>((resolve, reject) =>
        (client as unknown as { Get: (r: unknown, cb: (e: Error | null) => void) => void }).Get(
          { id: '1' },
          (e) => (e ? reject(e) : resolve()),
        ),
      )
    const batch = () => Promise.all(Array.from({ length: 16 }, call))
    return { server, client, batch }
  }
  const bareGrpc = await grpcServer(false)
  const guardedGrpc = await grpcServer(true)
  const grpcRows = await measure(
    [
      ['grpc-js bare (16 concurrent unary calls)', bareGrpc.batch],
      ['grpc-js + @callsign/grpc (16 concurrent unary calls)', guardedGrpc.batch],
    ],
    { iterations: 100, rounds: 7, warmup: 200 },
  )
  for (const side of [bareGrpc, guardedGrpc]) {
    side.client.close()
    side.server.forceShutdown()
  }
  agent.destroy()

  const grpcBase = grpcRows[0]!.median
  const grpcGuarded = grpcRows[1]!.median
  out.push(
    `- Express: +${delta(expressRows, 'express 5 bare (in process)', 'express 5 + @callsign/express (in process)')} µs wall and +${expressCpu.toFixed(1)} µs CPU per request in process (median of paired rounds); budget ≈ 15 µs.`,
    `- OpenTelemetry SDK registered (in-memory metric reader): +${delta(expressRows, 'express 5 + @callsign/express (in process)', 'express 5 + @callsign/express + OpenTelemetry SDK, in-memory metric reader (in process)')} µs wall and +${meteredCpu.toFixed(1)} µs CPU per request over Express + Callsign with no SDK (the counter, the histogram and the timing).`,
    `- Fastify: +${delta(fastifyRows, 'fastify 5 bare (inject)', 'fastify 5 + @callsign/fastify (inject)')} µs wall and +${fastifyCpu.toFixed(1)} µs CPU per request in process (inject); budget ≈ 15 µs.`,
    `- gRPC unary throughput: ${((grpcBase / grpcGuarded) * 100).toFixed(1)} % of the bare server (budget ≥ 90 %).`,
    `- Express route table: Callsign adds +${delta(sizedRows, 'express 5 bare, 10 routes (in process)', 'express 5 + @callsign/express, 10 routes (in process)')} µs with 10 routes and +${delta(sizedRows, 'express 5 bare, 10000 routes (in process)', 'express 5 + @callsign/express, 10000 routes (in process)')} µs with 10 000 (request for the last route).`,
    '',
    'CPU is this whole process, measured in paired rounds (bare, then guarded); the difference is the adapter',
    'plus the core pipeline. HTTP rows run over loopback with keep-alive and are dominated by socket noise here.',
    '',
    '### Express',
    '',
    table(expressRows, 'express 5 bare (in process)'),
    '',
    '### Express, by size of the route table',
    '',
    table(sizedRows, 'express 5 bare, 10 routes (in process)'),
    '',
    '### Fastify',
    '',
    table(fastifyRows, 'fastify 5 bare (inject)'),
    '',
    '### gRPC (plaintext loopback)',
    '',
    table(grpcRows, 'grpc-js bare (16 concurrent unary calls)'),
  )
  return out.join('\n')
}
