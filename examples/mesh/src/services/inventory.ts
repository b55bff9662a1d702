/**
 * inventory (gRPC over TLS): accepts a JWT (audience "inventory") or an API key in the
 * `authorization` metadata. Handlers read the caller with getCaller(call).
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { apiKeyVerifier } from '@callsign/api-key'
import { jsonLinesAuditSink, watchPolicyFile } from '@callsign/core'
import { auth, getCaller } from '@callsign/grpc'
import { jwtVerifier } from '@callsign/jwt'
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js'
import { serviceConfig } from '../config.js'
import { Inventory } from '../lib/inventory-client.js'
import { openKeyStore } from '../lib/key-store.js'
import { logger } from '../lib/log.js'
import { serveMetrics } from '../lib/metrics.js'
import { closeOnSignal } from '../lib/serve-until-signal.js'

const config = serviceConfig('inventory')
await serveMetrics(config) // before any Callsign part is made: they take their instruments then
const log = logger('inventory')
const stock = new Map([['sku-1', 42]])

const store = openKeyStore(config.keyStore)
const server = new Server({
  interceptors: [
    auth({
      policy: watchPolicyFile(config.policyFile),
      verifiers: [
        jwtVerifier({ issuer: config.issuerUrl, audience: 'inventory', discovery: true }),
        apiKeyVerifier({ store }),
      ],
      services: [Inventory.service],
      audit: jsonLinesAuditSink(config.auditFile),
    }),
  ],
})

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, done: sendUnaryData<Res>) => void

const health: Unary<object, { status: string }> = (_call, done) => done(null, { status: 'ok' })
const check: Unary<{ sku: string }, { sku: string; available: number; caller: string; kind: string }> = (
  call,
  done,
) => {
  const caller = getCaller(call)
  log('stock check', { caller: caller.id, kind: caller.kind, sku: call.request.sku })
  done(null, {
    sku: call.request.sku,
    available: stock.get(call.request.sku) ?? 0,
    caller: caller.id,
    kind: caller.kind,
  })
}
const reserve: Unary<
  { sku: string; quantity: number },
  { reservationId: string; caller: string; kind: string }
> = (call, done) => {
  const caller = getCaller(call)
  stock.set(call.request.sku, (stock.get(call.request.sku) ?? 0) - call.request.quantity)
  log('stock reserved', { caller: caller.id, kind: caller.kind, sku: call.request.sku })
  done(null, { reservationId: randomUUID(), caller: caller.id, kind: caller.kind })
}
server.addService(Inventory.service, { health, check, reserve })

const tls = ServerCredentials.createSsl(
  readFileSync(config.tls.ca),
  [{ cert_chain: readFileSync(config.tls.cert), private_key: readFileSync(config.tls.key) }],
  false,
)
await new Promise<number>((resolve, reject) =>
  server.bindAsync(`${config.host}:${config.port}`, tls, (error, port) =>
    error ? reject(error) : resolve(port),
  ),
)
log('listening', { port: config.port })
closeOnSignal(
  () =>
    new Promise<void>((resolve) => {
      store.close()
      server.tryShutdown(() => resolve())
    }),
)
