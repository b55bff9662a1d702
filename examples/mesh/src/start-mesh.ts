import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { grpc, http } from './lib/calls.js'
import { startService } from './lib/processes.js'
import { waitHealthy } from './lib/wait-healthy.js'
import { type MeshPaths, provision } from './provision.js'

export interface Ports {
  readonly issuer: number
  readonly gateway: number
  readonly orders: number
  readonly billing: number
  readonly inventory: number
}

export interface Mesh {
  readonly paths: MeshPaths
  readonly ca: Buffer
  readonly urls: { issuer: string; gateway: string; orders: string; billing: string; inventory: string }
  /** The environment every service (and the intruder) gets. */
  readonly env: NodeJS.ProcessEnv
}

/** Token lifetime in the demo: short, so the tour can show a token expiring and being renewed. */
export const DEMO_TOKEN_TTL_SECONDS = 8

/** Provisions, then starts the services in dependency order, each once the ones it needs are healthy. */
export async function startMesh(paths: MeshPaths, ports: Ports, say: (line: string) => void): Promise<Mesh> {
  const urls = {
    issuer: `https://127.0.0.1:${ports.issuer}`,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    orders: `http://127.0.0.1:${ports.orders}`,
    billing: `https://127.0.0.1:${ports.billing}`,
    inventory: `127.0.0.1:${ports.inventory}`,
  }
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
  const start = (name: keyof Ports) => startService(name, { ...env, PORT: String(ports[name]) }, paths.logs)

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
  return { paths, ca, urls, env }
}
