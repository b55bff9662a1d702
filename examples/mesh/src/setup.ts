/**
 * `pnpm --filter @callsign/example-mesh setup`: provisions the mesh (CA, certificates, signing keys,
 * API keys) without starting it, for `docker compose up`. The issuer URL defaults to the compose
 * one, so the intruder's expired token names that issuer.
 */
import { join, resolve } from 'node:path'
import { meshDir } from './config.js'
import { meshPaths, provision } from './provision.js'

const paths = meshPaths(
  resolve(process.env.MESH_STATE ?? join(meshDir, '.state')),
  resolve(process.env.MESH_CERTS ?? join(meshDir, '..', '..', 'certs-dev')),
)
await provision(paths, process.env.ISSUER_URL ?? 'https://issuer:8443', (line) => console.log(line))
console.log(`ready: certificates in ${paths.certs}, keys and state in ${paths.state}`)
