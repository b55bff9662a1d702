import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createApiKey, fileKeyStore } from '@callsign/api-key'
import { apiKeyCredentials, fileSecret, tokenCredentials, withCredentials } from '@callsign/client'
import { grpcCredentials } from '@callsign/client/grpc'
import { type AuditEvent, definePolicy } from '@callsign/core'
import { auth as expressAuth, getCaller as expressGetCaller } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import { auth as grpcAuth, getCaller as grpcGetCaller } from '@callsign/grpc'
import { createIssuer, type Issuer } from '@callsign/issuer'
import { createKeyDir, jwtVerifier, rotateKeyDir } from '@callsign/jwt'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The whole token path on loopback: a real issuer, the real client (tokenCredentials with an API key
 * read from a file) calling real Express, Fastify and gRPC servers that verify the tokens against the
 * issuer's JWKS. One injected clock drives issuer, client and verifiers, so expiry is exact.
 */
const ISSUER = 'http://issuer.test'
let now = Date.now()
const clock = { now: () => now }
const advance = (ms: number) => {
  now += ms
}

let dir: string
let store: ReturnType<typeof fileKeyStore>
let issuer: Issuer
let issuerUrl: string
let expressServer: Server
let fastifyApp: FastifyInstance
let grpcServer: grpc.Server
let expressUrl: string
let fastifyUrl: string
let grpcTarget: string
const audit: AuditEvent[] = []
let tokens: ReturnType<typeof tokenCredentials>
let ordersFetch: ReturnType<typeof withCredentials>
let grpcClient: grpc.Client

const protoFile = fileURLToPath(new URL('../adapters/fixtures/contract.proto', import.meta.url))
const Orders = (
  grpc.loadPackageDefinition(loadSync(protoFile)) as unknown as {
    contract: { v1: { Orders: grpc.ServiceClientConstructor } }
  }
).contract.v1.Orders

const verifiers = () => [
  jwtVerifier({
    issuer: ISSUER,
    audience: 'orders',
    jwksUri: `${issuerUrl}/.well-known/jwks.json`,
    clock,
    tokenCache: false,
  }),
]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-issuer-e2e-'))
  await createKeyDir(join(dir, 'keys'))
  store = fileKeyStore(join(dir, 'clients.json'), { watch: false })
  const { key } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read', 'orders:write'] })
  await writeFile(join(dir, 'billing.key'), `${key}\n`, { mode: 0o600 })
  issuer = await createIssuer({
    issuer: ISSUER,
    keys: join(dir, 'keys'),
    store,
    audiences: ['orders'],
    audit: (event) => audit.push(event),
    clock,
  })
  issuerUrl = `http://127.0.0.1:${(await issuer.listen({ port: 0, host: '127.0.0.1' })).port}`

  const routes = { 'GET /orders/:id': ['orders:read'] } as const
  const app = express()
  app.get('/orders/:id', (req, res) => res.json({ caller: expressGetCaller(req).id }))
  expressAuth(app, { policy: definePolicy({ routes }), verifiers: verifiers() })
  expressServer = await new Promise<Server>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server))
  })
  expressUrl = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`

  fastifyApp = Fastify()
  await fastifyApp.register(fastifyAuth, { policy: definePolicy({ routes }), verifiers: verifiers() })
  fastifyApp.get('/orders/:id', async (request) => ({ caller: request.caller?.id }))
  await fastifyApp.listen({ port: 0, host: '127.0.0.1' })
  fastifyUrl = `http://127.0.0.1:${(fastifyApp.server.address() as AddressInfo).port}`

  const interceptor = grpcAuth({
    policy: definePolicy({ routes: { '/contract.v1.Orders/Get': ['orders:read'] } }),
    verifiers: verifiers(),
    services: [Orders.service],
    allowPlaintextLoopback: true,
    reportOnly: true,
    onReport: () => {},
  })
  grpcServer = new grpc.Server({ interceptors: [interceptor] })
  const reply = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
    callback(null, { caller: grpcGetCaller(call).id })
  grpcServer.addService(Orders.service, { Get: reply, Create: reply, Health: reply, Unmapped: reply })
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  )
  grpcTarget = `127.0.0.1:${port}`

  tokens = tokenCredentials({
    tokenUrl: `${issuerUrl}/oauth2/token`,
    client: apiKeyCredentials(fileSecret(join(dir, 'billing.key'), { watch: false })),
    audience: 'orders',
    scope: ['orders:read'],
    refresh: { jitterRatio: 0 },
    clock,
  })
  ordersFetch = withCredentials(fetch, tokens)
  const g = grpcCredentials(tokens, { insecureLoopback: grpcTarget })
  grpcClient = new Orders(g.target!, g.credentials, g.options)
})

afterAll(async () => {
  grpcClient?.close()
  grpcServer?.forceShutdown()
  // fetch keeps connections alive: drop them, or a close waits for their idle timeout
  fastifyApp?.server.closeAllConnections()
  await fastifyApp?.close()
  expressServer?.closeAllConnections()
  if (expressServer) await new Promise((resolve) => expressServer.close(resolve))
  await issuer?.close()
  store?.close()
  await rm(dir, { recursive: true, force: true })
})

/** One call to each server; resolves to what each answered (HTTP status, gRPC status 0 = OK). */
async function callAll(): Promise<{ express: number; fastify: number; grpc: number }> {
  const [e, f, g] = await Promise.all([
    ordersFetch(`${expressUrl}/orders/42`).then(async (res) => {
      if (res.status === 200) expect(await (res as Response).json()).toEqual({ caller: 'billing' })
      return res.status
    }),
    ordersFetch(`${fastifyUrl}/orders/42`).then((res) => res.status),
    new Promise<number>((resolve) =>
      (
        grpcClient as unknown as {
          Get: (req: unknown, cb: (error: grpc.ServiceError | null) => void) => void
        }
      ).Get({ id: '42' }, (error) => resolve(error ? error.code : 0)),
    ),
  ])
  return { express: e, fastify: f, grpc: g }
}
const ALL_OK = { express: 200, fastify: 200, grpc: 0 }
/** A token straight from the issuer, with the client's key. */
async function freshToken(): Promise<string> {
  const key = (await readFile(join(dir, 'billing.key'), 'utf8')).trim()
  const res = await fetch(`${issuerUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${key}` },
    body: 'grant_type=client_credentials&scope=orders:read',
  })
  return `Bearer ${((await res.json()) as { access_token: string }).access_token}`
}
const issued = () => audit.filter((event) => event.reason === 'token_issued').length

describe('issuer → client → Express, Fastify and gRPC', () => {
  it('gets one token and uses it for every server', async () => {
    const before = issued()
    expect(await callAll()).toEqual(ALL_OK)
    expect(await callAll()).toEqual(ALL_OK)
    expect(issued() - before).toBe(1)
  })

  it('refreshes the token across its expiry: the old token is refused, the client fetches a new one', async () => {
    await callAll()
    const old = (await tokens.authorization())!
    const before = issued()
    advance(306_000) // past the 5-minute lifetime and the verifiers' 5 s clock tolerance
    const stale = await fetch(`${expressUrl}/orders/42`, { headers: { authorization: old } })
    expect(stale.status).toBe(401)
    expect(await callAll()).toEqual(ALL_OK)
    expect(issued() - before).toBe(1)
    expect(await tokens.authorization()).not.toBe(old)
  })

  it('rotates the issuer key (publish, then promote) with no failed request during the overlap', async () => {
    const outcomes: { express: number; fastify: number; grpc: number }[] = []
    const [first] = issuer.jwks().keys
    outcomes.push(await callAll())

    const published = await rotateKeyDir(join(dir, 'keys'), { step: 'publish' })
    await issuer.reloadKeys()
    outcomes.push(await callAll())
    advance(240_000) // tokens refreshed ahead of expiry, still signed by the first key
    outcomes.push(await callAll())
    advance(240_000)
    outcomes.push(await callAll())

    const signedByFirst = await freshToken() // still alive when the verifiers have moved to the new set
    await rotateKeyDir(join(dir, 'keys'), { step: 'promote' })
    await issuer.reloadKeys()
    // The client's token is still signed by the first key: it must keep working.
    outcomes.push(await callAll())
    expect(issuer.jwks().keys.map((key) => key.kid)).toEqual([published.nextKid, first!.kid])
    advance(240_000) // inside the refresh window: the next token is fetched in the background …
    outcomes.push(await callAll())
    const kid = async () =>
      JSON.parse(Buffer.from((await tokens.authorization())!.slice(7).split('.')[0]!, 'base64url').toString())
        .kid
    await expect.poll(kid).toBe(published.nextKid) // … and is signed by the new key
    outcomes.push(await callAll())
    // A live token of the first key still verifies: at the servers, and at a verifier that fetches
    // the key set only now, after the promotion.
    const late = verifiers()[0]!
    const lateCaller = await late.verify({
      transport: 'http',
      method: 'GET',
      route: '/orders/:id',
      header: (name) => (name === 'authorization' ? [signedByFirst] : []),
    })
    expect(lateCaller?.id).toBe('billing')
    for (const url of [expressUrl, fastifyUrl]) {
      const res = await fetch(`${url}/orders/42`, { headers: { authorization: signedByFirst } })
      expect(res.status).toBe(200)
    }
    advance(240_000)
    outcomes.push(await callAll())
    expect(outcomes).toEqual(outcomes.map(() => ALL_OK))
  })
})
