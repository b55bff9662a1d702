/**
 * `pnpm --filter @callsign/example-mesh run provision`: provisions the mesh (CA, certificates,
 * signing keys, API keys) without starting it, for `docker compose up`. Safe to run again at any
 * time: it keeps what is still good and renews certificates close to expiry, which running
 * containers then pick up without a restart. The issuer URL defaults to the compose one, so the
 * intruder's expired token names that issuer.
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
