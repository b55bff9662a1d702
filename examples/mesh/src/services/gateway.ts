/**
 * gateway (Express): the only public entry. Partners call it with their API key; it calls orders
 * with a short-lived JWT it gets from the issuer with its own API key. The mesh's CA comes from
 * NODE_EXTRA_CA_CERTS, so Node's fetch trusts the issuer's certificate.
 */
import { createServer } from 'node:http'
import { apiKeyVerifier } from '@callsign/api-key'
import { apiKeyCredentials, fileSecret, tokenCredentials, withCredentials } from '@callsign/client'
import { jsonLinesAuditSink, watchPolicyFile } from '@callsign/core'
import { auth, getCaller } from '@callsign/express'
import express, { type NextFunction, type Request, type Response } from 'express'
import { serviceConfig } from '../config.js'
import { openKeyStore } from '../lib/key-store.js'
import { logger } from '../lib/log.js'
import { serveMetrics } from '../lib/metrics.js'
import { closeOnSignal, listening } from '../lib/serve-until-signal.js'

const config = serviceConfig('gateway')
await serveMetrics(config) // before any Callsign part is made: they take their instruments then
const log = logger('gateway')
const tokens = tokenCredentials({
  tokenUrl: `${config.issuerUrl}/oauth2/token`,
  client: apiKeyCredentials(fileSecret(config.keyFile)),
  audience: 'orders',
})
const orders = withCredentials(fetch, tokens)

const app = express()
app.use(express.json({ limit: '16kb' }))
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' })
})
app.get('/shop/orders/:id', async (req, res) => {
  const caller = getCaller(req)
  log('order lookup', { caller: caller.id, kind: caller.kind, order: req.params.id })
  const upstream = await orders(`${config.ordersUrl}/orders/${encodeURIComponent(String(req.params.id))}`)
  res
    .status(upstream.status)
    .json({ gateway: { caller: caller.id, kind: caller.kind }, ...((await upstream.json()) as object) })
})
app.post('/shop/orders', async (req, res) => {
  const caller = getCaller(req)
  const sku = typeof req.body?.sku === 'string' ? req.body.sku : 'sku-1'
  log('order placed', { caller: caller.id, kind: caller.kind, sku })
  const upstream = await orders(`${config.ordersUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sku, quantity: 1, customer: caller.id }),
  })
  res
    .status(upstream.status)
    .json({ gateway: { caller: caller.id, kind: caller.kind }, ...((await upstream.json()) as object) })
})
app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
  // the caller's mistake (a malformed body) stays a 4xx; anything else is an upstream failure
  if (error.status && error.status < 500) {
    res.status(error.status).json({ error: 'bad_request' })
    return
  }
  log('upstream call failed', { error: error.name })
  res.status(502).json({ error: 'upstream_unavailable' })
})

const store = openKeyStore(config.keyStore)
auth(app, {
  policy: watchPolicyFile(config.policyFile),
  verifiers: [apiKeyVerifier({ store })],
  audit: jsonLinesAuditSink(config.auditFile),
})

const server = createServer(app)
await listening(server, config.port, config.host)
log('listening', { port: config.port })
closeOnSignal(async () => {
  server.close()
  store.close()
})
