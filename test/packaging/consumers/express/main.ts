// An ESM, strict TypeScript Express service, built from the packed tarballs. It serves one route
// guarded by an API key store that `npx callsign` wrote, calls itself once with the key that holds
// the scope (through @callsign/client, without grpc-js installed) and once with a revoked key, and
// prints what came back.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { apiKeyVerifier, fileKeyStore } from '@callsign/api-key'
import { apiKeyCredentials, fileSecret, withCredentials } from '@callsign/client'
import { type Caller, definePolicy } from '@callsign/core'
import { auth } from '@callsign/express'
import express from 'express'

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const app = express()
app.get('/orders/:id', (req, res) => {
  const caller: Caller | null | undefined = req.caller
  res.json({ id: req.params.id, caller: caller?.id ?? null })
})
auth(app, {
  policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
  verifiers: [apiKeyVerifier({ store: fileKeyStore(env('KEY_STORE')) })],
})
const server = app.listen(0, '127.0.0.1')
await once(server, 'listening')
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders/42`

const allowed = await withCredentials(fetch, apiKeyCredentials(fileSecret(env('KEY_FILE'))))(url)
const refused = await fetch(url, {
  headers: { authorization: `Bearer ${readFileSync(env('REVOKED_KEY_FILE'), 'utf8').trim()}` },
})
console.log(
  JSON.stringify({
    allowed: { status: allowed.status, body: await allowed.json() },
    refused: { status: refused.status, body: await refused.json() },
  }),
)
server.close()
process.exit(0)
