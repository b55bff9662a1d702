import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The mesh's own folder (examples/mesh). */
export const meshDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * Every setting a mesh service reads, from the environment, with the process-mode defaults. The
 * docker compose file sets the same variables, pointing at mounted secrets.
 */
export function serviceConfig(service: string) {
  const state = resolve(process.env.MESH_STATE ?? join(meshDir, '.state'))
  const certs = resolve(process.env.MESH_CERTS ?? join(meshDir, '..', '..', 'certs-dev'))
  const tlsDir = process.env.TLS_DIR ?? join(certs, service)
  return {
    service,
    host: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 0),
    /** Where the service's Prometheus metrics are served (`/metrics`, on `host`); unset: not served. */
    metricsPort: Number(process.env.METRICS_PORT ?? 0),
    trustDomain: process.env.TRUST_DOMAIN ?? 'mesh.local',
    policyFile: process.env.POLICY_FILE ?? join(meshDir, 'policies', `${service}.policy.yaml`),
    auditFile: process.env.AUDIT_FILE ?? join(state, 'audit', `${service}.jsonl`),
    keyStore: process.env.KEY_STORE ?? join(state, 'store', 'keys.json'),
    keyFile: process.env.KEY_FILE ?? join(state, 'secrets', service, 'api.key'),
    jwksDir: process.env.JWKS_DIR ?? join(state, 'jwks'),
    tls: {
      cert: process.env.TLS_CERT ?? join(tlsDir, 'tls.crt'),
      key: process.env.TLS_KEY ?? join(tlsDir, 'tls.key'),
      ca: process.env.TLS_CA ?? join(tlsDir, 'ca.crt'),
    },
    /** The development CA's revocation list (`callsign certs revoke` writes it); `TLS_CRL=""`: none. */
    crl: process.env.TLS_CRL === '' ? undefined : (process.env.TLS_CRL ?? join(certs, 'crl', 'ca.crl')),
    issuerUrl: process.env.ISSUER_URL ?? 'https://127.0.0.1:7400',
    ordersUrl: process.env.ORDERS_URL ?? 'http://127.0.0.1:7402',
    billingUrl: process.env.BILLING_URL ?? 'https://127.0.0.1:7403',
    inventoryAddress: process.env.INVENTORY_ADDRESS ?? '127.0.0.1:7404',
    tokenTtlSeconds: Number(process.env.TOKEN_TTL ?? 300),
  }
}

export type ServiceConfig = ReturnType<typeof serviceConfig>
