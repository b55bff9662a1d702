import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyVerifier, createApiKey, type FileKeyStore, fileKeyStore } from '@callsign/api-key'
import { apiKeyCredentials, fileSecret, withCredentials } from '@callsign/client'
import { type AuthRequest, createPipeline, definePolicy } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The client against the real server side: a node:http service guarded by the core pipeline and the
 * API key verifier over a file key store. A revoked key draws a 401 invalid_token; the client re-reads
 * its rotated key file and retries once.
 */
let dir: string
let store: FileKeyStore
let server: Server
let base: string
const seen: number[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-client-e2e-'))
  store = fileKeyStore(join(dir, 'keys.json'), { watch: false })
  const pipeline = createPipeline({
    policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
    verifiers: [apiKeyVerifier({ store })],
  })
  server = createServer(async (req, res) => {
    const request: AuthRequest = {
      transport: 'http',
      method: req.method!,
      route: '/orders/:id',
      header: (name) => {
        const value = req.headers[name]
        return value === undefined ? [] : Array.isArray(value) ? value : [value]
      },
    }
    const decision = await pipeline.decide(request)
    if (!decision.allowed) {
      const refusal = httpRefusal(decision.error)
      seen.push(refusal.status)
      res.writeHead(refusal.status, refusal.headers)
      res.end(JSON.stringify(refusal.body))
      return
    }
    seen.push(200)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ caller: decision.caller?.id }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((r) => server.close(r))
  store.close()
  await rm(dir, { recursive: true, force: true })
})

describe('client → API key verifier', () => {
  it('is let in with its key, and after a revocation retries once with the rotated key from its file', async () => {
    const first = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const keyFile = join(dir, 'billing.key')
    await writeFile(keyFile, `${first.key}\n`, { mode: 0o600 })
    const orders = withCredentials(fetch, apiKeyCredentials(fileSecret(keyFile, { watch: false })))

    const ok = await orders(`${base}/orders/1`)
    expect(await ok.json()).toEqual({ caller: 'billing' })

    const second = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    await store.revoke(first.record.id)
    await writeFile(keyFile, `${second.key}\n`)
    const retried = await orders(`${base}/orders/2`)
    expect(retried.status).toBe(200)
    expect(seen).toEqual([200, 401, 200])
  })
})
