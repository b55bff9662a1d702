import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  apiKeyCredentials,
  ClientError,
  type Credentials,
  fileSecret,
  tokenCredentials,
  withCredentials,
} from '@callsign/client'
import { AuthError, ConfigError } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { manualClock } from './support/manual-clock.js'
import { startTokenEndpoint, type TokenEndpoint } from './support/token-endpoint.js'

interface Seen {
  method: string
  authorization: string | undefined
  body: string
}

/** A resource server on loopback: answers 401 invalid_token while `refuse` says so. */
let resource: Server
let base: string
let seen: Seen[]
let refuse: (authorization: string | undefined) => false | string

beforeAll(async () => {
  resource = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({
        method: req.method!,
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString(),
      })
      const challenge = refuse(req.headers.authorization)
      if (challenge) {
        res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/problem+json' })
        res.end('{"code":"ERR_INVALID_CREDENTIAL"}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
  })
  await new Promise<void>((r) => resource.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(resource.address() as AddressInfo).port}`
})
afterAll(() => new Promise((r) => resource.close(r)))

let endpoint: TokenEndpoint
let dir: string
let keyFile: string
beforeEach(async () => {
  seen = []
  refuse = () => false
  endpoint = await startTokenEndpoint()
  endpoint.reply({ kind: 'token', token: 'tok-#', expiresIn: 300 })
  dir = await mkdtemp(join(tmpdir(), 'callsign-client-fetch-'))
  keyFile = join(dir, 'key')
  await writeFile(keyFile, 'csk_k1_first\n')
})
afterEach(async () => {
  await endpoint.close()
  await rm(dir, { recursive: true, force: true })
})

/** The challenge the Callsign adapters send for a bad credential, straight from core's wire mapping. */
const INVALID = httpRefusal(new AuthError('ERR_INVALID_CREDENTIAL'))!.headers['www-authenticate']!
/** And the one for no credential at all: no `error` attribute. */
const NO_CREDENTIAL = httpRefusal(new AuthError('ERR_NO_CREDENTIAL'))!.headers['www-authenticate']!
const apiKey = () => apiKeyCredentials(fileSecret(keyFile, { watch: false }))
const tokens = (clock = manualClock()) =>
  tokenCredentials({ tokenUrl: endpoint.url, client: apiKey(), clock })

describe('withCredentials', () => {
  it('attaches the API key as Authorization: Bearer on a request through the global fetch', async () => {
    const res = await withCredentials(fetch, apiKey())(`${base}/orders/1`)
    expect(res.status).toBe(200)
    expect(seen).toEqual([{ method: 'GET', authorization: 'Bearer csk_k1_first', body: '' }])
  })

  it('attaches a token for the audience chosen per URL', async () => {
    const f = withCredentials(fetch, tokens(), { audience: (url) => url.pathname.split('/')[1] })
    await f(`${base}/orders/1`)
    await f(new URL(`${base}/stock/2`))
    await f(new Request(`${base}/orders/3`))
    expect(endpoint.requests.map((r) => r.form.get('audience'))).toEqual(['orders', 'stock'])
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2', 'Bearer tok-1'])
  })

  it.each([
    ['init.headers', (url: string) => [url, { headers: { Authorization: 'Bearer mine' } }] as const],
    [
      'a Headers object',
      (url: string) => [url, { headers: new Headers({ authorization: 'Basic x' }) }] as const,
    ],
    [
      'a Request',
      (url: string) => [new Request(url, { headers: { authorization: 'Bearer mine' } })] as const,
    ],
  ])(
    'refuses a request whose %s already has Authorization (ERR_AUTHORIZATION_PRESENT), sending nothing',
    async (_n, args) => {
      const f = withCredentials(fetch, apiKey())
      const error = await (f as (...a: unknown[]) => Promise<Response>)(...args(`${base}/x`)).catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(ClientError)
      expect(error).toMatchObject({ code: 'ERR_AUTHORIZATION_PRESENT' })
      expect(seen).toEqual([])
    },
  )

  it("keeps the request's own headers beside the credential", async () => {
    const inspectHeaders: string[] = []
    const spy = (input: string | Request, init?: RequestInit) => {
      inspectHeaders.push(new Headers(init?.headers).get('x-trace') ?? '')
      return fetch(input, init)
    }
    await withCredentials(spy, apiKey())(`${base}/a`, { headers: { 'x-trace': 't-1' } })
    await withCredentials(spy, apiKey())(new Request(`${base}/b`, { headers: { 'x-trace': 't-2' } }))
    expect(inspectHeaders).toEqual(['t-1', 't-2'])
  })

  it('on a 401 with error="invalid_token" refreshes the token and retries once, replaying the body', async () => {
    const clock = manualClock()
    const creds = tokens(clock)
    await creds.authorization() // tok-1, then it ages past the invalidation floor
    clock.advance(10_000)
    refuse = (auth) => (auth === 'Bearer tok-1' ? INVALID : false)
    const res = await withCredentials(fetch, creds)(`${base}/orders`, { method: 'POST', body: '{"item":7}' })
    expect(res.status).toBe(200)
    expect(seen).toEqual([
      { method: 'POST', authorization: 'Bearer tok-1', body: '{"item":7}' },
      { method: 'POST', authorization: 'Bearer tok-2', body: '{"item":7}' },
    ])
  })

  it('never loops: a server refusing every token gets exactly one retry, then the 401 is returned', async () => {
    const clock = manualClock()
    const creds = tokens(clock)
    await creds.authorization()
    clock.advance(10_000)
    refuse = () => INVALID
    const f = withCredentials(fetch, creds)
    const res = await f(`${base}/orders`)
    expect(res.status).toBe(401)
    expect(seen).toHaveLength(2)
    expect(endpoint.requests).toHaveLength(2)
    // the fresh token is not dropped again at once: the next calls make no token request
    for (let i = 0; i < 5; i++) expect((await f(`${base}/orders`)).status).toBe(401)
    expect(endpoint.requests).toHaveLength(2)
    expect(seen).toHaveLength(7)
  })

  it('passes a failed refresh after a 401 to the caller as a ClientError, without a second request', async () => {
    const clock = manualClock()
    endpoint.reply(
      { kind: 'token', token: 'tok-1', expiresIn: 300 },
      { kind: 'json', status: 401, body: { error: 'invalid_client' } },
    )
    const creds = tokens(clock)
    await creds.authorization()
    clock.advance(10_000)
    refuse = () => INVALID
    const error = await withCredentials(fetch, creds)(`${base}/orders`).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REQUEST_REJECTED', oauthError: 'invalid_client' })
    expect(seen).toHaveLength(1)
  })

  it('does not retry a 401 without error="invalid_token"', async () => {
    const clock = manualClock()
    const creds = tokens(clock)
    await creds.authorization()
    clock.advance(10_000)
    refuse = () => NO_CREDENTIAL
    expect((await withCredentials(fetch, creds)(`${base}/orders`)).status).toBe(401)
    expect(seen).toHaveLength(1)
    expect(endpoint.requests).toHaveLength(1)
  })

  it('does not retry when the body is a stream that cannot be sent again', async () => {
    const clock = manualClock()
    const creds = tokens(clock)
    await creds.authorization()
    clock.advance(10_000)
    refuse = () => INVALID
    const body = Readable.toWeb(Readable.from([Buffer.from('streamed')]))
    const res = await withCredentials(fetch, creds)(`${base}/upload`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(401)
    expect(seen).toHaveLength(1)
  })

  it('retries with a rotated API key after a 401 invalid_token (the key file is re-read)', async () => {
    const creds = apiKey()
    refuse = (auth) => (auth === 'Bearer csk_k1_first' ? INVALID : false)
    await writeFile(keyFile, 'csk_k2_second\n')
    const res = await withCredentials(fetch, creds)(`${base}/orders`)
    expect(res.status).toBe(200)
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer csk_k1_first', 'Bearer csk_k2_second'])
  })

  it('returns the 401 without a second request when the API key did not change', async () => {
    refuse = () => INVALID
    const res = await withCredentials(fetch, apiKey())(`${base}/orders`)
    expect(res.status).toBe(401)
    expect(seen).toHaveLength(1)
  })

  it('passes a token endpoint failure to the caller as a ClientError, sending nothing', async () => {
    endpoint.reply({ kind: 'json', status: 400, body: { error: 'invalid_scope' } })
    const error = await withCredentials(fetch, tokens())(`${base}/orders`).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REQUEST_REJECTED', oauthError: 'invalid_scope' })
    expect(seen).toEqual([])
  })

  it('throws ConfigError for a missing fetch or credentials', () => {
    expect(() => withCredentials(undefined as never, apiKey())).toThrow(ConfigError)
    expect(() => withCredentials(fetch, {} as Credentials)).toThrow(/"credentials"/)
  })
})
