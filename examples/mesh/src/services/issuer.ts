/**
 * issuer: the @callsign/issuer token service. Services exchange their API key for a short-lived
 * JWT (OAuth 2.0 client credentials); orders and inventory verify those tokens against its JWKS.
 */
import { jsonLinesAuditSink } from '@callsign/core'
import { createIssuer } from '@callsign/issuer'
import { tlsServerOptions } from '@callsign/mtls'
import { serviceConfig } from '../config.js'
import { openKeyStore } from '../lib/key-store.js'
import { logger } from '../lib/log.js'
import { serveMetrics } from '../lib/metrics.js'
import { closeOnSignal } from '../lib/serve-until-signal.js'

const config = serviceConfig('issuer')
await serveMetrics(config) // before any Callsign part is made: they take their instruments then
const log = logger('issuer')

const store = openKeyStore(config.keyStore)
const serverTls = tlsServerOptions({ ...config.tls, clientCertificate: 'request' })
const issuer = await createIssuer({
  issuer: config.issuerUrl,
  keys: config.jwksDir,
  audiences: ['orders', 'inventory'],
  store,
  ttl: config.tokenTtlSeconds,
  https: serverTls,
  audit: jsonLinesAuditSink(config.auditFile),
})

await issuer.listen({ port: config.port, host: config.host })
log('listening', { port: config.port, tokenTtl: config.tokenTtlSeconds })
closeOnSignal(async () => {
  await issuer.close()
  store.close()
  serverTls.close()
})
