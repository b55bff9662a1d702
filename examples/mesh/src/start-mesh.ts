import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { grpc, http } from './lib/calls.js'
import { freePorts } from './lib/free-ports.js'
import { startService } from './lib/processes.js'
import { waitHealthy } from './lib/wait-healthy.js'
import { type MeshPaths, provision } from './provision.js'

/** The services, in the order they start. */
const SERVICES = ['issuer', 'inventory', 'billing', 'orders', 'gateway'] as const
export type Service = (typeof SERVICES)[number]

export interface Mesh {
  readonly paths: MeshPaths
  readonly ca: Buffer
  readonly urls: { issuer: string; gateway: string; orders: string; billing: string; inventory: string }
  /** Where each service serves its Prometheus metrics (OpenTelemetry's Prometheus exporter). */
  readonly metricsUrls: Readonly<Record<Service, string>>
  /** The environment every service (and the intruder) gets. */
  readonly env: NodeJS.ProcessEnv
}

/** Token lifetime in the demo: short, so the tour can show a token expiring and being renewed. */
export const DEMO_TOKEN_TTL_SECONDS = 8

/**
 * Provisions, then starts the services on free loopback ports in dependency order, each once the ones
 * it needs are healthy. Each service also serves its metrics on a port of its own.
 */
export async function startMesh(paths: MeshPaths, say: (line: string) => void): Promise<Mesh> {
  const free = await freePorts(2 * SERVICES.length)
  const ports = Object.fromEntries(SERVICES.map((name, i) => [name, free[i]])) as Record<Service, number>
  const metricsPorts = Object.fromEntries(
    SERVICES.map((name, i) => [name, free[SERVICES.length + i]]),
  ) as Record<Service, number>
  const urls = {
    issuer: `https://127.0.0.1:${ports.issuer}`,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    orders: `http://127.0.0.1:${ports.orders}`,
    billing: `https://127.0.0.1:${ports.billing}`,
    inventory: `127.0.0.1:${ports.inventory}`,
  }
  const metricsUrls = Object.fromEntries(
    SERVICES.map((name) => [name, `http://127.0.0.1:${metricsPorts[name]}/metrics`]),
  ) as Record<Service, string>
  say('Callsign example mesh\n')
  await provision(paths, urls.issuer, (line) => say(`  setup: ${line}`))
  const caFile = join(paths.certs, 'ca', 'ca.crt')
  const ca = readFileSync(caFile)
  const env: NodeJS.ProcessEnv = {
    MESH_STATE: paths.state,
    MESH_CERTS: paths.certs,
    HOST: '127.0.0.1',
    ISSUER_URL: urls.issuer,
    ORDERS_URL: urls.orders,
    BILLING_URL: urls.billing,
    INVENTORY_ADDRESS: urls.inventory,
    TOKEN_TTL: String(DEMO_TOKEN_TTL_SECONDS),
    // Node's own fetch (token requests, JWKS fetches) trusts the mesh's development CA
    NODE_EXTRA_CA_CERTS: caFile,
  }
  const start = (name: Service) =>
    startService(
      name,
      { ...env, PORT: String(ports[name]), METRICS_PORT: String(metricsPorts[name]) },
      paths.logs,
    )

  start('issuer')
  await waitHealthy('issuer', () => http(`${urls.issuer}/healthz`, { ca }))
  start('inventory')
  start('billing')
  await Promise.all([
    waitHealthy('inventory', () => grpc(urls.inventory, 'health', { ca })),
    waitHealthy('billing', () => http(`${urls.billing}/healthz`, { ca })),
  ])
  start('orders')
  await waitHealthy('orders', () => http(`${urls.orders}/healthz`, { ca }))
  start('gateway')
  await waitHealthy('gateway', () => http(`${urls.gateway}/healthz`, { ca }))
  say(`  started issuer, inventory, billing, orders and gateway on 127.0.0.1 (logs in ${paths.logs})\n`)
  return { paths, ca, urls, metricsUrls, env }
}
