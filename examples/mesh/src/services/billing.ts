/**
 * billing (Fastify over HTTPS): mTLS with SPIFFE identities. The handshake asks for a client
 * certificate; the verifier takes the caller's SPIFFE ID from it and the policy grants orders, and
 * only orders, `billing:charge`. Its certificate rotates without a restart.
 */
import { randomUUID } from 'node:crypto'
import { jsonLinesAuditSink, watchPolicyFile } from '@callsign/core'
import { auth, getCaller } from '@callsign/fastify'
import { mtlsVerifier, tlsServerOptions } from '@callsign/mtls'
import Fastify from 'fastify'
import { serviceConfig } from '../config.js'
import { logger } from '../lib/log.js'
import { serveMetrics } from '../lib/metrics.js'
import { closeOnSignal } from '../lib/serve-until-signal.js'

const config = serviceConfig('billing')
await serveMetrics(config) // before any Callsign part is made: they take their instruments then
const log = logger('billing')

// 'request': a caller without a certificate still completes the handshake and gets a 401 from the
// policy, so health checks can reach the public route
const serverTls = tlsServerOptions({
  ...config.tls,
  ...(config.crl ? { crl: config.crl } : {}), // `callsign certs revoke` reaches open connections at the next reload
  clientCertificate: 'request',
  onReload: () => log('certificate reloaded'),
})
const app = Fastify({ https: serverTls.options, bodyLimit: 16 * 1024 })
serverTls.attach(app.server as never)

await app.register(auth, {
  policy: watchPolicyFile(config.policyFile),
  verifiers: [mtlsVerifier({ identity: 'spiffe', serverTls, trustDomains: [config.trustDomain] })],
  audit: jsonLinesAuditSink(config.auditFile),
})

app.get('/healthz', async () => ({ status: 'ok' }))
app.post<{ Body: { orderId?: string; amount?: number } }>('/charges', async (request, reply) => {
  const caller = getCaller(request)
  const chargeId = randomUUID()
  log('charge', {
    caller: caller.id,
    kind: caller.kind,
    certificate: caller.credentialId,
    order: request.body?.orderId,
  })
  reply.code(201)
  return { chargeId, caller: caller.id, kind: caller.kind }
})

await app.listen({ port: config.port, host: config.host })
log('listening', { port: config.port })
closeOnSignal(async () => {
  await app.close()
  serverTls.close()
})
