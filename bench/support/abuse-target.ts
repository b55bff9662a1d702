import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { apiKeyVerifier, fileKeyStore, type KeyStore } from '@callsign/api-key'
import { definePolicy } from '@callsign/core'
import { auth } from '@callsign/fastify'
import { jwtVerifier } from '@callsign/jwt'
import Fastify from 'fastify'
import { AUDIENCE, type Fixture, ISSUER, SCOPE } from './fixture.js'
import type { TargetHandle } from './target-process.js'

/**
 * A Fastify service taking API keys and JWTs (keys from a JWKS URL, default cache settings),
 * beside a stand-in issuer that serves the JWKS and counts how often it is asked. Counters: JWKS
 * fetches, key-store lookups and the token-cache size.
 */
export async function startAbuseTarget(fixture: Fixture): Promise<TargetHandle> {
  let jwksFetches = 0
  const issuer = createServer((_req, res) => {
    jwksFetches++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [fixture.publicJwk] }))
  })
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve))
  const jwksUri = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/jwks.json`

  let storeLookups = 0
  const file = fileKeyStore(fixture.keyStore)
  const store: KeyStore = {
    find: (id) => {
      storeLookups++
      return file.find(id)
    },
    create: (record) => file.create(record),
    update: (id, change) => file.update(id, change),
    list: () => file.list(),
    revoke: (id) => file.revoke(id),
    onChange: (listener) => file.onChange(listener),
  }
  const jwt = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri, algorithms: ['ES256'] })
  await jwt.warmUp()
  const app = Fastify()
  await app.register(auth, {
    policy: definePolicy({ routes: { 'GET /orders/:id': [SCOPE] } }),
    verifiers: [apiKeyVerifier({ store }), jwt],
  })
  app.get('/orders/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    port: (app.server.address() as AddressInfo).port,
    stats: () => ({
      jwksFetches,
      storeLookups,
      tokenCacheSize: jwt.health().tokenCache?.size ?? 0,
    }),
    close: async () => {
      await app.close()
      file.close()
      issuer.close()
    },
  }
}
