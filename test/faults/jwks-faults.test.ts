import { writeFileSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { apiKeyVerifier } from '@callsign/api-key'
import { apiKeyCredentials, ClientError, fileSecret, tokenCredentials } from '@callsign/client'
import { jwtVerifier } from '@callsign/jwt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type SecurityCredentials, securityCredentials } from '../security/support/credentials.js'
import { expressTarget, type Target } from '../security/support/targets.js'

// The JWKS endpoint or the issuer down, slow, or answering garbage. A real JWKS server on
// loopback, a real Express server with the real verifiers, real HTTP in between. The key cache's
// own behaviour (single flight, cool-down, stale bounds) is tested in packages/jwt/test/key-cache.test.ts;
// here: what the protected service answers, and that it keeps answering.

type Mode = 'ok' | 'status500' | 'garbage' | 'slow' | 'empty'

async function jwksServer(jwks: () => unknown) {
  const state = { mode: 'ok' as Mode, requests: 0 }
  const hanging = new Set<ServerResponse>()
  const server: Server = createServer((_req, res) => {
    state.requests++
    if (state.mode === 'status500')
      return void res.writeHead(500).end('{"error":"internal: secret db password"}')
    if (state.mode === 'garbage')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>{"keys":')
    if (state.mode === 'empty')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}')
    if (state.mode === 'slow') {
      hanging.add(res)
      res.writeHead(200, { 'content-type': 'application/json' }).write('{"keys":')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks()))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  return {
    state,
    url: `http://127.0.0.1:${port}/jwks.json`,
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    },
  }
}

/** A loopback port with nothing listening. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((done) => server.close(() => done()))
  return port
}

const bearer = (token: string) => ({ headers: [['authorization', `Bearer ${token}`]] as [string, string][] })
const control = (creds: SecurityCredentials) => bearer(creds.keys.reader)

describe('the JWKS endpoint down, slow or answering garbage', () => {
  let creds: SecurityCredentials
  const open: { close(): Promise<void> }[] = []
  beforeAll(async () => {
    creds = await securityCredentials()
  })
  afterEach(async () => {
    for (const thing of open.splice(0)) await thing.close()
  })
  afterAll(() => creds?.store.close())

  async function serve(jwksUri: string, keyCache: Record<string, number> = {}): Promise<Target> {
    const target = await expressTarget(creds, [
      apiKeyVerifier({ store: creds.store }),
      jwtVerifier({
        issuer: creds.jwt.issuer,
        audience: creds.jwt.audience,
        jwksUri,
        keyCache: { timeout: 1, unknownKidCooldown: 1, ...keyCache },
        tokenCache: false,
      }),
    ])
    open.push(target)
    return target
  }

  async function expectRefusedThenServing(target: Target, token: string) {
    const refused = await target.send(bearer(token))
    expect({ status: refused.status, code: refused.code }).toEqual({
      status: 401,
      code: 'ERR_INVALID_CREDENTIAL',
    })
    expect(refused.wire).not.toContain('secret db password')
    expect(target.handlerRuns()).toBe(0)
    expect(target.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'keys_unavailable' })
    const next = await target.send(control(creds))
    expect(next.status).toBe(200)
  }

  it('refuses a valid token with 401 ERR_INVALID_CREDENTIAL (keys_unavailable) while nothing listens at the JWKS URL', async () => {
    const target = await serve(`http://127.0.0.1:${await deadPort()}/jwks.json`)
    await expectRefusedThenServing(target, creds.jwt.token())
  })

  for (const mode of ['status500', 'garbage', 'slow', 'empty'] as const) {
    it(`refuses a valid token with 401 ERR_INVALID_CREDENTIAL, never a 5xx or a hang, while the JWKS endpoint answers ${mode}`, async () => {
      const jwks = await jwksServer(() => ({ keys: [creds.jwt.jwk] }))
      open.push(jwks)
      jwks.state.mode = mode
      const target = await serve(jwks.url)
      if (mode === 'empty') {
        const refused = await target.send(bearer(creds.jwt.token()))
        expect({ status: refused.status, code: refused.code }).toEqual({
          status: 401,
          code: 'ERR_INVALID_CREDENTIAL',
        })
        expect(target.handlerRuns()).toBe(0)
        return
      }
      await expectRefusedThenServing(target, creds.jwt.token())
    })
  }

  it('recovers once the JWKS endpoint answers again (after the cool-down), without a restart', async () => {
    const jwks = await jwksServer(() => ({ keys: [creds.jwt.jwk] }))
    open.push(jwks)
    jwks.state.mode = 'garbage'
    const target = await serve(jwks.url)
    await expectRefusedThenServing(target, creds.jwt.token())
    jwks.state.mode = 'ok'
    await new Promise((done) => setTimeout(done, 1100)) // the 1 s cool-down between failed fetches
    const accepted = await target.send(bearer(creds.jwt.token()))
    expect({ status: accepted.status, caller: accepted.caller }).toEqual({
      status: 200,
      caller: 'jwt-reader',
    })
  })

  it('keeps accepting tokens of known keys when the JWKS endpoint dies after warm-up, and refuses a token of an unknown kid', async () => {
    const jwks = await jwksServer(() => ({ keys: [creds.jwt.jwk] }))
    const target = await serve(jwks.url)
    const first = await target.send(bearer(creds.jwt.token()))
    expect(first.status).toBe(200)
    await jwks.close()
    const again = await target.send(bearer(creds.jwt.token()))
    expect({ status: again.status, caller: again.caller }).toEqual({ status: 200, caller: 'jwt-reader' })
    const unknown = await target.send(bearer(creds.jwt.token({}, { kid: 'k2' })))
    expect({ status: unknown.status, code: unknown.code }).toEqual({
      status: 401,
      code: 'ERR_INVALID_CREDENTIAL',
    })
    expect(target.handlerRuns()).toBe(2)
  })
})

describe('the issuer down, slow or answering garbage (the client side)', () => {
  let creds: SecurityCredentials
  beforeAll(async () => {
    creds = await securityCredentials()
    writeFileSync(join(creds.dir, 'client.key'), creds.keys.reader, { mode: 0o600 })
  })
  afterAll(() => creds?.store.close())

  const client = () => apiKeyCredentials(fileSecret(join(creds.dir, 'client.key')))

  async function tokenFrom(tokenUrl: string) {
    const tokens = tokenCredentials({ tokenUrl, client: client(), timeoutMs: 1000 })
    return tokens.authorization('orders').then(
      () => {
        throw new Error('a token came back from a broken issuer')
      },
      (error: unknown) => error,
    )
  }

  it('rejects with ClientError ERR_TOKEN_ENDPOINT_UNAVAILABLE when nothing listens, without the client key in the error', async () => {
    const error = await tokenFrom(`http://127.0.0.1:${await deadPort()}/token`)
    expect(error).toBeInstanceOf(ClientError)
    expect((error as ClientError).code).toBe('ERR_TOKEN_ENDPOINT_UNAVAILABLE')
    expect(String((error as Error).message)).not.toContain(creds.keys.reader)
  })

  it('rejects with a ClientError when the issuer hangs, answers 500, or answers garbage', async () => {
    const hanging = new Set<ServerResponse>()
    let mode: 'slow' | 'status500' | 'garbage' = 'slow'
    const server = createServer((_req, res) => {
      if (mode === 'slow') return void hanging.add(res)
      if (mode === 'status500') return void res.writeHead(500).end('boom')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token": 42')
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
    try {
      const codes: Record<string, string> = {}
      for (const next of ['slow', 'status500', 'garbage'] as const) {
        mode = next
        const error = await tokenFrom(url)
        expect(error).toBeInstanceOf(ClientError)
        expect(String((error as Error).message)).not.toContain(creds.keys.reader)
        codes[next] = (error as ClientError).code
      }
      expect(codes.slow).toBe('ERR_TOKEN_ENDPOINT_UNAVAILABLE')
      expect(codes.garbage).toBe('ERR_TOKEN_RESPONSE_INVALID')
      expect(['ERR_TOKEN_ENDPOINT_UNAVAILABLE', 'ERR_TOKEN_REQUEST_REJECTED']).toContain(codes.status500)
    } finally {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    }
  })
})
