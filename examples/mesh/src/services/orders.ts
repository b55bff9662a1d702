/**
 * orders (Fastify): accepts short-lived JWTs from the issuer (audience "orders"); calls billing over
 * mTLS with its own SPIFFE certificate, and inventory over gRPC with a JWT for audience "inventory".
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { apiKeyCredentials, fileSecret, mtlsAgent, tokenCredentials, withCredentials } from '@callsign/client'
import { grpcCredentials } from '@callsign/client/grpc'
import { jsonLinesAuditSink, watchPolicyFile } from '@callsign/core'
import { auth, getCaller } from '@callsign/fastify'
import { jwtVerifier } from '@callsign/jwt'
import { credentials } from '@grpc/grpc-js'
import Fastify from 'fastify'
import { fetch } from 'undici'
import { serviceConfig } from '../config.js'
import { INVENTORY_NAME, Inventory, unary } from '../lib/inventory-client.js'
import { logger } from '../lib/log.js'
import { serveMetrics } from '../lib/metrics.js'
import { closeOnSignal } from '../lib/serve-until-signal.js'

const config = serviceConfig('orders')
await serveMetrics(config) // before any Callsign part is made: they take their instruments then
const log = logger('orders')

// outgoing: billing over mTLS, inventory over gRPC with a token
const tls = mtlsAgent(config.tls)
const billing = withCredentials(fetch, tls)
const inventoryTokens = tokenCredentials({
  tokenUrl: `${config.issuerUrl}/oauth2/token`,
  client: apiKeyCredentials(fileSecret(config.keyFile)),
  audience: 'inventory',
})
const grpc = grpcCredentials(inventoryTokens, { channel: credentials.createSsl(readFileSync(config.tls.ca)) })
// the certificate names the service (DNS SAN "inventory"), whatever address reaches it
const inventory = new Inventory(config.inventoryAddress, grpc.credentials, {
  ...grpc.options,
  ...INVENTORY_NAME,
})

const app = Fastify({ bodyLimit: 16 * 1024 })
await app.register(auth, {
  policy: watchPolicyFile(config.policyFile),
  verifiers: [jwtVerifier({ issuer: config.issuerUrl, audience: 'orders', discovery: true })],
  audit: jsonLinesAuditSink(config.auditFile),
})

app.get('/healthz', async () => ({ status: 'ok' }))

app.get<{ Params: { id: string } }>('/orders/:id', async (request) => {
  const caller = getCaller(request)
  log('order read', {
    caller: caller.id,
    kind: caller.kind,
    token: caller.credentialId,
    order: request.params.id,
  })
  const stock = await unary<{ available: number; caller: string; kind: string }>((done) =>
    inventory.check({ sku: 'sku-1' }, done),
  )
  return {
    order: { id: request.params.id, sku: 'sku-1', status: 'open' },
    orders: { caller: caller.id, kind: caller.kind, credentialId: caller.credentialId },
    inventory: { caller: stock.caller, kind: stock.kind, available: stock.available },
  }
})

app.post<{ Body: { sku?: string; customer?: string } }>('/orders', async (request, reply) => {
  const caller = getCaller(request)
  const id = randomUUID()
  const sku = request.body?.sku ?? 'sku-1'
  log('order create', { caller: caller.id, kind: caller.kind, order: id })
  const reservation = await unary<{ reservationId: string; caller: string; kind: string }>((done) =>
    inventory.reserve({ sku, quantity: 1, orderId: id }, done),
  )
  const charge = await billing(`${config.billingUrl}/charges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId: id, amount: 1999 }),
  })
  const charged = (await charge.json()) as { caller?: string; kind?: string; chargeId?: string }
  reply.code(charge.ok ? 201 : 502)
  return {
    order: { id, sku, status: charge.ok ? 'paid' : 'payment_failed' },
    orders: { caller: caller.id, kind: caller.kind, credentialId: caller.credentialId },
    inventory: { caller: reservation.caller, kind: reservation.kind, reservation: reservation.reservationId },
    billing: {
      caller: charged.caller,
      kind: charged.kind,
      chargeId: charged.chargeId,
      status: charge.status,
    },
  }
})

app.setErrorHandler((error, _request, reply) => {
  const status = (error as { statusCode?: number }).statusCode
  if (status && status < 500) return reply.code(status).send({ error: 'bad_request' })
  log('call failed', { error: (error as Error).name, code: (error as { code?: unknown }).code })
  reply.code(502).send({ error: 'upstream_unavailable' })
})

await app.listen({ port: config.port, host: config.host })
log('listening', { port: config.port })
closeOnSignal(async () => {
  await app.close()
  inventory.close()
  tls.close()
})
