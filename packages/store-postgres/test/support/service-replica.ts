// One service replica for the multi-replica test and bench:
// service-replica <url> <schema> <fastify|express|grpc> <key>
// Serves GET /orders (HTTP) or /replica.v1.Orders/Get (gRPC, plaintext loopback) through the real
// adapter, with an apiKeyVerifier on its own PostgreSQL store, and calls itself with <key> every few
// milliseconds, until its stdin closes. Prints "ready" whenever a call is accepted after none or a
// refusal, and "refused <epoch ms> <status> <audit reason>" whenever one is refused after an
// acceptance (so the bench can revoke and restore one key many times).
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { apiKeyVerifier } from '@callsign/api-key'
import type { AuditEvent } from '@callsign/core'
import { definePolicy } from '@callsign/core'
import * as expressAdapter from '@callsign/express'
import * as fastifyAdapter from '@callsign/fastify'
import * as grpcAdapter from '@callsign/grpc'
import { postgresKeyStore } from '@callsign/store-postgres'
import * as grpc from '@grpc/grpc-js'
import express from 'express'
import Fastify from 'fastify'
import { jsonUnaryMethod } from '../../../../test/support/json-unary-method.js'

const [url, schema, kind, key] = process.argv.slice(2) as [string, string, string, string]
const store = postgresKeyStore(url, { schema })
let lastReason = ''
const options = {
  verifiers: [apiKeyVerifier({ store })],
  audit: (event: AuditEvent) => {
    lastReason = event.reason
  },
}

const Orders = { Get: jsonUnaryMethod('/replica.v1.Orders/Get') }

/** Starts the service; resolves to one call with the key: 0 when accepted, else the status. */
async function start(): Promise<() => Promise<number>> {
  if (kind === 'grpc') {
    const server = new grpc.Server({
      interceptors: [
        grpcAdapter.auth({
          ...options,
          policy: definePolicy({ routes: { '/replica.v1.Orders/Get': ['orders:read'] } }),
          services: [Orders],
          allowPlaintextLoopback: true,
        }),
      ],
    })
    server.addService(Orders, {
      Get: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) =>
        done(null, { caller: grpcAdapter.getCaller(call).id }),
    })
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    )
    const Client = grpc.makeGenericClientConstructor(Orders, 'Orders')
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
    const metadata = new grpc.Metadata()
    metadata.set('authorization', `Bearer ${key}`)
    return () =>
      new Promise((resolve) =>
        (client as unknown as { Get: (...args: unknown[]) => void }).Get(
          {},
          metadata,
          (error: grpc.ServiceError | null) => resolve(error ? error.code : 0),
        ),
      )
  }
  let port: number
  if (kind === 'fastify') {
    const app = Fastify()
    await app.register(fastifyAdapter.auth, {
      ...options,
      policy: definePolicy({ routes: { 'GET /orders': ['orders:read'] } }),
    })
    app.get('/orders', async (req) => ({ caller: fastifyAdapter.getCaller(req).id }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  } else if (kind === 'express') {
    const app = express()
    app.get('/orders', (req, res) => {
      res.json({ caller: expressAdapter.getCaller(req).id })
    })
    expressAdapter.auth(app, {
      ...options,
      policy: definePolicy({ routes: { 'GET /orders': ['orders:read'] } }),
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    port = (server.address() as AddressInfo).port
  } else {
    throw new Error(`unknown service kind ${kind}`)
  }
  return () =>
    new Promise((resolve) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/orders', headers: { authorization: `Bearer ${key}` } },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode === 200 ? 0 : (res.statusCode ?? -1)))
        },
      )
      req.on('error', () => resolve(-1))
      req.end()
    })
}

const call = await start()
await store.ready()
let stopped = false
process.stdin.on('end', () => {
  stopped = true
})
process.stdin.resume()
// "ready" at each change to accepted, "refused …" at each change to refused.
let refused = true
while (!stopped) {
  const status = await call()
  const now = Date.now()
  if (status === 0 && refused) process.stdout.write('ready\n')
  else if (status !== 0 && !refused) process.stdout.write(`refused ${now} ${status} ${lastReason}\n`)
  refused = status !== 0
  await new Promise((resolve) => setTimeout(resolve, 2))
}
await store.close()
process.exit(0)
