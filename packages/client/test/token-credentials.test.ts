import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyCredentials, ClientError, fileSecret, tokenCredentials } from '@callsign/client'
import { ConfigError } from '@callsign/core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { manualClock } from './support/manual-clock.js'
import { startTokenEndpoint, type TokenEndpoint } from './support/token-endpoint.js'

const KEY = 'csk_billing01_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tXYZ'
let dir: string
let endpoint: TokenEndpoint
let keyFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-client-token-'))
  keyFile = join(dir, 'billing.key')
  await writeFile(keyFile, `${KEY}\n`)
})
afterAll(() => rm(dir, { recursive: true, force: true }))
beforeEach(async () => {
  endpoint = await startTokenEndpoint()
})
afterEach(() => endpoint.close())

const client = () => apiKeyCredentials(fileSecret(keyFile, { watch: false }))
const make = (extra: Partial<Parameters<typeof tokenCredentials>[0]> = {}) =>
  tokenCredentials({ tokenUrl: endpoint.url, client: client(), ...extra })

/** Background refreshes settle on the event loop; wait until the endpoint has seen `n` requests. */
async function requestsReach(n: number) {
  for (let i = 0; i < 200 && endpoint.requests.length < n; i++) await new Promise((r) => setTimeout(r, 5))
  expect(endpoint.requests.length).toBe(n)
}

describe('tokenCredentials: the token request', () => {
  it('posts grant_type=client_credentials with audience and scope, authenticating with the API key', async () => {
    endpoint.reply({ kind: 'token', token: 'tok-A', expiresIn: 300 })
    const tokens = make({ audience: 'orders', scope: ['orders:read', 'orders:write'] })
    expect(await tokens.authorization()).toBe('Bearer tok-A')
    const [seen] = endpoint.requests
    expect(seen!.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(seen!.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(Object.fromEntries(seen!.form)).toEqual({
      grant_type: 'client_credentials',
      audience: 'orders',
      scope: 'orders:read orders:write',
    })
  })

  it('keeps one cached token per audience', async () => {
    endpoint.reply({ kind: 'token', token: 'tok-#', expiresIn: 300 })
    const tokens = make()
    const orders = await tokens.authorization('orders')
    const stock = await tokens.authorization('stock')
    expect(await tokens.authorization('orders')).toBe(orders)
    expect(await tokens.authorization('stock')).toBe(stock)
    expect(orders).not.toBe(stock)
    expect(endpoint.requests.map((r) => r.form.get('audience'))).toEqual(['orders', 'stock'])
  })

  it('sends one token request for many concurrent callers (single flight)', async () => {
    endpoint.reply({ kind: 'token', token: 'tok-#', expiresIn: 300 })
    const tokens = make({ audience: 'orders' })
    const all = await Promise.all(Array.from({ length: 25 }, () => tokens.authorization()))
    expect(new Set(all)).toEqual(new Set(['Bearer tok-1']))
    expect(endpoint.requests).toHaveLength(1)
  })
})

describe('tokenCredentials: refresh across expiry (injected clock)', () => {
  it('refreshes in the background inside the refresh window and keeps serving the current token meanwhile', async () => {
    const clock = manualClock()
    endpoint.reply({ kind: 'token', token: 'tok-#', expiresIn: 300 })
    const tokens = make({ clock })
    expect(await tokens.authorization()).toBe('Bearer tok-1')
    // 300 s lifetime: margin max(30 s, 60 s) = 60 s, jitter up to 30 s, so the window opens in [210 s, 240 s].
    clock.advance(209_000)
    expect(await tokens.authorization()).toBe('Bearer tok-1')
    expect(endpoint.requests).toHaveLength(1)
    clock.advance(31_000) // 240 s: inside the window
    expect(await tokens.authorization()).toBe('Bearer tok-1') // served at once, refresh under way
    await requestsReach(2)
    await new Promise((r) => setTimeout(r, 20))
    expect(await tokens.authorization()).toBe('Bearer tok-2')
  })

  it('never uses a token past its expiry: once expired and the endpoint down, the call fails', async () => {
    const clock = manualClock()
    endpoint.reply(
      { kind: 'token', token: 'tok-#', expiresIn: 60 },
      { kind: 'raw', status: 503, body: 'down' },
    )
    const tokens = make({ clock })
    expect(await tokens.authorization()).toBe('Bearer tok-1')
    clock.advance(60_000) // exactly the expiry
    const error = await tokens.authorization().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ClientError)
    expect(error).toMatchObject({ code: 'ERR_TOKEN_ENDPOINT_UNAVAILABLE', reason: 'http_503', status: 503 })
  })

  it('keeps the still-valid token when a refresh fails, and retries only after a backoff', async () => {
    const clock = manualClock()
    endpoint.reply(
      { kind: 'token', token: 'tok-1', expiresIn: 3600 },
      { kind: 'raw', status: 502, body: '<html>bad gateway</html>' },
      { kind: 'token', token: 'tok-2', expiresIn: 3600 },
    )
    const tokens = make({ clock })
    await tokens.authorization()
    clock.advance(2_900_000) // the window opens by 2 880 s
    expect(await tokens.authorization()).toBe('Bearer tok-1')
    await requestsReach(2) // the failed refresh
    await new Promise((r) => setTimeout(r, 20))
    for (let i = 0; i < 10; i++) expect(await tokens.authorization()).toBe('Bearer tok-1')
    clock.advance(400) // the first backoff is 500 to 1000 ms
    expect(await tokens.authorization()).toBe('Bearer tok-1')
    await new Promise((r) => setTimeout(r, 30))
    expect(endpoint.requests).toHaveLength(2)
    clock.advance(700)
    expect(await tokens.authorization()).toBe('Bearer tok-1')
    await requestsReach(3)
    await new Promise((r) => setTimeout(r, 20))
    expect(await tokens.authorization()).toBe('Bearer tok-2')
  })

  it('fails fast during the backoff instead of hammering a down endpoint (no retry storm)', async () => {
    const clock = manualClock()
    endpoint.reply({ kind: 'raw', status: 500, body: 'oops' })
    const tokens = make({ clock })
    const errors = await Promise.all(Array.from({ length: 20 }, () => tokens.authorization().catch((e) => e)))
    for (let i = 0; i < 20; i++) errors.push(await tokens.authorization().catch((e) => e))
    expect(errors.every((e) => e instanceof ClientError && e.code === 'ERR_TOKEN_ENDPOINT_UNAVAILABLE')).toBe(
      true,
    )
    expect(endpoint.requests).toHaveLength(1)
    clock.advance(1_000)
    await tokens.authorization().catch(() => {})
    expect(endpoint.requests).toHaveLength(2)
    clock.advance(1_000) // the second backoff is 1 to 2 s: maybe, maybe not; at 4 s surely
    clock.advance(3_000)
    await tokens.authorization().catch(() => {})
    expect(endpoint.requests).toHaveLength(3)
  })

  it('ignores invalidate() for a token younger than 5 s, and drops an older one', async () => {
    const clock = manualClock()
    endpoint.reply({ kind: 'token', token: 'tok-#', expiresIn: 300 })
    const tokens = make({ clock })
    const first = await tokens.authorization()
    tokens.invalidate(first)
    expect(await tokens.authorization()).toBe(first)
    clock.advance(5_000)
    tokens.invalidate('Bearer some-other-token')
    expect(await tokens.authorization()).toBe(first)
    tokens.invalidate(first)
    expect(await tokens.authorization()).toBe('Bearer tok-2')
  })
})

describe('tokenCredentials: a token endpoint that misbehaves', () => {
  it('reports an OAuth error with its code (ERR_TOKEN_REQUEST_REJECTED, invalid_client), never the key', async () => {
    endpoint.reply({
      kind: 'json',
      status: 401,
      body: { error: 'invalid_client', error_description: `unknown key ${KEY}` },
    })
    const error = (await make()
      .authorization()
      .catch((e: unknown) => e)) as ClientError
    expect(error).toBeInstanceOf(ClientError)
    expect(error).toMatchObject({
      code: 'ERR_TOKEN_REQUEST_REJECTED',
      oauthError: 'invalid_client',
      status: 401,
    })
    expect(error.message).toContain('invalid_client')
    expect(error.message).toContain(endpoint.url)
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain('S3cr3t')
  })

  it.each([
    ['not JSON', { kind: 'raw', status: 200, body: '<html>hello</html>' }, 'not_json'],
    ['a JSON array', { kind: 'json', status: 200, body: [1] }, 'not_an_object'],
    [
      'no access_token',
      { kind: 'json', status: 200, body: { token_type: 'Bearer', expires_in: 60 } },
      'bad_access_token',
    ],
    [
      'a token with a space',
      { kind: 'json', status: 200, body: { access_token: 'a b', token_type: 'Bearer', expires_in: 60 } },
      'bad_access_token',
    ],
    [
      'token_type mac',
      { kind: 'json', status: 200, body: { access_token: 't', token_type: 'mac', expires_in: 60 } },
      'bad_token_type',
    ],
    [
      'no expires_in',
      { kind: 'json', status: 200, body: { access_token: 't', token_type: 'Bearer' } },
      'bad_expires_in',
    ],
    [
      'expires_in as a string',
      { kind: 'json', status: 200, body: { access_token: 't', token_type: 'Bearer', expires_in: '60' } },
      'bad_expires_in',
    ],
    ['more than 64 KiB', { kind: 'raw', status: 200, body: 'x'.repeat(70_000) }, 'too_large'],
  ] as const)(
    'rejects a 200 with %s as ERR_TOKEN_RESPONSE_INVALID (reason %s)',
    async (_name, reply, reason) => {
      endpoint.reply(reply as never)
      await expect(make().authorization()).rejects.toMatchObject({
        code: 'ERR_TOKEN_RESPONSE_INVALID',
        reason,
      })
    },
  )

  it('reports a 4xx without an OAuth body as ERR_TOKEN_ENDPOINT_UNAVAILABLE (reason http_404)', async () => {
    endpoint.reply({ kind: 'raw', status: 404, body: 'not here' })
    await expect(make().authorization()).rejects.toMatchObject({
      code: 'ERR_TOKEN_ENDPOINT_UNAVAILABLE',
      reason: 'http_404',
    })
  })

  it('gives up on an endpoint that never answers with ERR_TOKEN_ENDPOINT_UNAVAILABLE (reason timeout)', async () => {
    endpoint.reply({ kind: 'hang' })
    await expect(make({ timeoutMs: 300 }).authorization()).rejects.toMatchObject({
      code: 'ERR_TOKEN_ENDPOINT_UNAVAILABLE',
      reason: 'timeout',
    })
  })

  it('reports an endpoint that is down with ERR_TOKEN_ENDPOINT_UNAVAILABLE (reason connection_failed)', async () => {
    const closed: Server = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as { port: number }).port
    await new Promise((r) => closed.close(r))
    const tokens = tokenCredentials({ tokenUrl: `http://127.0.0.1:${port}/token`, client: client() })
    await expect(tokens.authorization()).rejects.toMatchObject({
      code: 'ERR_TOKEN_ENDPOINT_UNAVAILABLE',
      reason: 'connection_failed',
    })
  })
})

describe('tokenCredentials: options are checked at startup', () => {
  it.each([
    [{ tokenUrl: 'http://issuer.example.com/token' }, /tokenUrl.*https/],
    [{ tokenUrl: 'https://user:pw@issuer.example.com/token' }, /user name or password/],
    [{ tokenUrl: 'not a url' }, /absolute URL/],
    [{ tokenUrl: 'ftp://127.0.0.1/token' }, /https/],
    [{ scope: ['orders'] }, /"scope"/],
    [{ audience: 'two words' }, /"audience"/],
    [{ timeoutMs: 0 }, /"timeoutMs"/],
    [{ clientId: 'billing' }, /"clientId"/],
    [{ refresh: { ratio: 1 } }, /refresh.ratio/],
    [{ client: { kind: 'jwt', authorization: async () => 'x', invalidate() {} } }, /"client"/],
  ])('throws ConfigError for %j', (extra, message) => {
    expect(() => make(extra as never)).toThrow(ConfigError)
    expect(() => make(extra as never)).toThrow(message)
  })
})
