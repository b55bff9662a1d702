/**
 * `pnpm demo`: provisions the mesh, starts every service as a local process on loopback, plays the
 * narrated tour and stops everything. Exits 0 only when every step behaved as expected.
 *
 *   pnpm demo            the tour, then a clean stop
 *   pnpm demo --keep     the tour, then the mesh keeps running (Ctrl-C stops it)
 *
 *   MESH_DATABASE_URL=postgres://127.0.0.1/test pnpm demo
 *                        also two gateway replicas on that PostgreSQL key store, and a key revoked under both
 *
 * MESH_STATE and MESH_CERTS move the state folder and the certificates (the tests use both).
 */
import { join, relative, resolve } from 'node:path'
import { meshDir } from './config.js'
import { stopAll } from './lib/processes.js'
import { keyFile, meshPaths } from './provision.js'
import { startMesh } from './start-mesh.js'
import { runTour } from './tour.js'

const keep = process.argv.includes('--keep')
const paths = meshPaths(
  resolve(process.env.MESH_STATE ?? join(meshDir, '.state')),
  resolve(process.env.MESH_CERTS ?? join(meshDir, '..', '..', 'certs-dev')),
)
const say = (line: string) => process.stdout.write(`${line}\n`)

let stopping = false
const stop = async (code: number) => {
  if (stopping) return
  stopping = true
  await stopAll()
  process.exit(code)
}
process.on('SIGINT', () => void stop(130))
process.on('SIGTERM', () => void stop(143))

try {
  const mesh = await startMesh(paths, say)
  const failures = await runTour(mesh, say, process.env.MESH_DATABASE_URL || undefined)
  if (keep) {
    const rel = (path: string) => relative(process.cwd(), path) || '.'
    say('\nThe mesh keeps running. Try it with curl:')
    say(
      `  curl -s -H "Authorization: Bearer $(cat ${rel(keyFile(paths, 'storefront'))})" ${mesh.urls.gateway}/shop/orders/42`,
    )
    say(`  curl -s ${mesh.urls.gateway}/shop/orders/42          # no credential: 401`)
    say(
      `  curl -s --cacert ${rel(join(paths.certs, 'ca', 'ca.crt'))} ${mesh.urls.issuer}/.well-known/openid-configuration`,
    )
    say("Each service's Prometheus metrics:")
    for (const [service, url] of Object.entries(mesh.metricsUrls)) say(`  curl -s ${url}   # ${service}`)
    say(`Logs: ${rel(paths.logs)}  Audit: ${rel(paths.audit)}.  Ctrl-C stops everything.`)
    await new Promise(() => {})
  }
  await stop(failures === 0 ? 0 : 1)
} catch (error) {
  say(`\nThe demo could not run: ${(error as Error).message}`)
  await stop(1)
}
