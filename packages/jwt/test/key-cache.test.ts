import { randomUUID } from 'node:crypto'
import { type Clock, ConfigError } from '@callsign/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type JwtVerifierOptions, jwtVerifier, mintToken } from '../src/index.js'
import { es256Pair, jwksServer, jwksVerifier, requestWith } from './support.js'

const k1 = es256Pair('k1')
const k2 = es256Pair('k2')
const servers: Awaited<ReturnType<typeof jwksServer>>[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function setup(keys: unknown[] = [k1.jwk], options: Partial<JwtVerifierOptions> = {}) {
  const server = await jwksServer({ keys })
  servers.push(server)
  const { verifier, clock } = jwksVerifier(server, options)
  const token = (pair = k1, kid = pair.jwk.kid as string) =>
    mintToken({
      key: { alg: 'ES256', kid, privateKey: pair.privateKey },
      issuer: server.issuer,
      subject: 'billing',
      audience: 'orders',
      scopes: ['orders:read'],
      ttl: 300,
      clock,
    })
  return { server, clock, verifier, token }
}

/** A token signed by k1 for audience orders, issued by `issuer`. */
const k1Token = (issuer: string, clock?: Clock) =>
  mintToken({
    key: { alg: 'ES256', kid: 'k1', privateKey: k1.privateKey },
    issuer,
    subject: 'billing',
    audience: 'orders',
    scopes: ['orders:read'],
    ttl: 300,
    ...(clock ? { clock } : {}),
  })

const reasonOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: { reason?: string }) => error.reason,
  )

describe('jwtVerifier key cache over a real JWKS server', () => {
  it('fetches once for many concurrent first requests (single flight)', async () => {
    const { server, verifier, token } = await setup()
    const tokens = await Promise.all(Array.from({ length: 20 }, () => token()))
    const callers = await Promise.all(tokens.map((t) => verifier.verifyToken(t)))
    expect(callers.every((caller) => caller.id === 'billing')).toBe(true)
    expect(server.state.jwksRequests).toBe(1)
  })

  it('refetches for an unknown kid only after the cool-down, then accepts the rotated key', async () => {
    const { server, clock, verifier, token } = await setup()
    await verifier.warmUp()
    server.state.jwks = { keys: [k1.jwk, k2.jwk] }
    expect(await reasonOf(verifier.verifyToken(await token(k2)))).toBe('unknown_kid')
    expect(server.state.jwksRequests).toBe(1)
    clock.advance(31)
    expect(await reasonOf(verifier.verifyToken(await token(k2)))).toBe('accepted')
    expect(server.state.jwksRequests).toBe(2)
  })

  it('does not hammer the issuer for a flood of random kids (401 unknown_kid, one fetch per cool-down)', async () => {
    const { server, clock, verifier, token } = await setup()
    await verifier.warmUp()
    clock.advance(31)
    const reasons: unknown[] = []
    for (let i = 0; i < 50; i++)
      reasons.push(await reasonOf(verifier.verifyToken(await token(k1, randomUUID()))))
    expect(new Set(reasons)).toEqual(new Set(['unknown_kid']))
    expect(server.state.jwksRequests).toBe(2)
  })

  it('drops cached tokens of a key that left the set (401 unknown_kid afterwards)', async () => {
    const { server, clock, verifier, token } = await setup()
    const old = await token(k1)
    for (let use = 0; use < 3; use++) await verifier.verifyToken(old) // cached from its second use
    expect(verifier.health().tokenCache).toMatchObject({ size: 1, hits: 1 })
    server.state.jwks = { keys: [k2.jwk] }
    clock.advance(31)
    await verifier.verifyToken(await token(k2)) // unknown kid → refetch → k1 leaves the set
    expect(verifier.health().tokenCache?.size).toBe(0) // k1's token dropped; k2's, seen once, not cached
    expect(await reasonOf(verifier.verifyToken(old))).toBe('unknown_kid')
  })

  it('refreshes ahead of expiry in the background', async () => {
    const { server, clock, verifier, token } = await setup([k1.jwk], {
      keyCache: { maxAge: 60, refreshAhead: 20 },
    })
    await verifier.warmUp()
    clock.advance(45)
    await verifier.verifyToken(await token())
    // The server counts the request before the verifier has read the answer: wait for both.
    await vi.waitFor(() => {
      expect(server.state.jwksRequests).toBe(2)
      expect(verifier.health().issuers[0]).toMatchObject({ state: 'fresh', lastSuccessAgeSeconds: 0 })
    })
  })

  it('verifies without waiting while the keys are fresh, and goes through the fetch path once a refresh is due', async () => {
    const { server, clock, verifier, token } = await setup([k1.jwk], {
      keyCache: { maxAge: 60, refreshAhead: 20 },
    })
    await verifier.warmUp()
    const fresh = verifier.verify(requestWith(`Bearer ${await token()}`))
    expect(fresh).not.toBeInstanceOf(Promise)
    expect(fresh).toMatchObject({ id: 'billing' })
    clock.advance(45)
    const due = verifier.verify(requestWith(`Bearer ${await token()}`))
    expect(due).toBeInstanceOf(Promise)
    expect(await due).toMatchObject({ id: 'billing' })
    await vi.waitFor(() => expect(server.state.jwksRequests).toBe(2))
  })

  it('serves stale keys while the issuer fails, within the bound, then fails closed (keys_unavailable)', async () => {
    const { server, clock, verifier, token } = await setup([k1.jwk], {
      keyCache: { maxAge: 60, staleIfError: 120, unknownKidCooldown: 10 },
    })
    await verifier.warmUp()
    server.state.mode = 'status500'
    clock.advance(70)
    expect(await reasonOf(verifier.verifyToken(await token()))).toBe('accepted')
    await vi.waitFor(() => expect(verifier.health().issuers[0]?.lastError).toBe('http_status'))
    expect(verifier.health()).toMatchObject({
      state: 'stale',
      issuers: [{ state: 'stale', lastSuccessAgeSeconds: 70 }],
    })
    clock.advance(120)
    expect(await reasonOf(verifier.verifyToken(await token()))).toBe('keys_unavailable')
    expect(verifier.health().state).toBe('failing')
    server.state.mode = 'ok'
    clock.advance(11)
    expect(await reasonOf(verifier.verifyToken(await token()))).toBe('accepted')
    expect(verifier.health().state).toBe('fresh')
  })

  it('refuses a cached token once the keys are past their stale bound, as it refuses an uncached one (keys_unavailable)', async () => {
    const { server, clock, verifier, token } = await setup([k1.jwk], {
      keyCache: { maxAge: 60, staleIfError: 60, unknownKidCooldown: 10 },
    })
    const cached = await token()
    for (let use = 0; use < 3; use++) await verifier.verifyToken(cached) // cached from its second use
    expect(verifier.health().tokenCache).toMatchObject({ size: 1, hits: 1 })
    server.state.mode = 'status500'
    clock.advance(90) // stale, within the bound: still accepted, from the cache
    expect(await reasonOf(verifier.verifyToken(cached))).toBe('accepted')
    clock.advance(40) // past maxAge + staleIfError, the token itself still valid
    expect(await reasonOf(verifier.verifyToken(await token()))).toBe('keys_unavailable')
    expect(await reasonOf(verifier.verifyToken(cached))).toBe('keys_unavailable')
    const viaRequest = verifier.verify(requestWith(`Bearer ${cached}`))
    expect(viaRequest).toBeInstanceOf(Promise) // not answered from the cache
    expect(await reasonOf(viaRequest as Promise<unknown>)).toBe('keys_unavailable')
    server.state.mode = 'ok'
    clock.advance(11)
    expect(await reasonOf(verifier.verifyToken(cached))).toBe('accepted')
  })

  it('refreshes the keys in the background while every request is a token-cache hit', async () => {
    const { server, clock, verifier, token } = await setup([k1.jwk], {
      keyCache: { maxAge: 60, refreshAhead: 20 },
    })
    const cached = await token()
    for (let use = 0; use < 3; use++) await verifier.verifyToken(cached)
    const requests = server.state.jwksRequests
    clock.advance(45)
    expect(verifier.verify(requestWith(`Bearer ${cached}`))).toMatchObject({ id: 'billing' })
    await vi.waitFor(() => expect(server.state.jwksRequests).toBe(requests + 1))
  })

  it.each([
    ['no key', { keys: [] }],
    [
      'only keys with garbage coordinates',
      {
        keys: [
          { ...k1.jwk, x: 'AAAA', y: 'BBBB' },
          { kty: 'EC', crv: 'P-256', x: '!', y: '?' },
        ],
      },
    ],
    ['only keys of another use', { keys: [{ ...k1.jwk, use: 'enc' }] }],
  ])(
    'treats a JWKS answer with %s as a failed fetch: the last good keys stay, health is failing with no_usable_keys',
    async (_case, answer) => {
      const { server, clock, verifier, token } = await setup([k1.jwk], {
        keyCache: { maxAge: 60, staleIfError: 600, unknownKidCooldown: 10 },
      })
      await verifier.warmUp()
      server.state.jwks = answer as { keys: unknown[] }
      clock.advance(61)
      await verifier.warmUp()
      expect(verifier.health().issuers[0]).toMatchObject({
        state: 'failing',
        keys: 1,
        lastError: 'no_usable_keys',
        lastSuccessAgeSeconds: 61,
      })
      expect(await reasonOf(verifier.verifyToken(await token()))).toBe('accepted')
      server.state.jwks = { keys: [k1.jwk] }
      clock.advance(11)
      await verifier.warmUp()
      expect(verifier.health().issuers[0]).toMatchObject({ state: 'fresh', lastError: null })
    },
  )

  it.each([
    ['status500', 'http_status'],
    ['garbage', 'invalid_json'],
    ['huge', 'too_large'],
    ['hugeChunked', 'too_large'],
    ['slow', 'timeout'],
  ] as const)(
    'refuses with keys_unavailable, without crashing or hanging, when the JWKS endpoint is %s',
    async (mode, lastError) => {
      const server = await jwksServer({ keys: [k1.jwk] })
      servers.push(server)
      server.state.mode = mode
      const { verifier, clock } = jwksVerifier(server, { keyCache: { timeout: 0.3 } })
      const t = await k1Token(server.issuer, clock)
      expect(await reasonOf(verifier.verifyToken(t))).toBe('keys_unavailable')
      expect(verifier.health().issuers[0]).toMatchObject({
        state: 'failing',
        lastError,
        lastSuccessAgeSeconds: null,
      })
    },
  )

  it('refuses with keys_unavailable when the JWKS server is down', async () => {
    // down before the verifier exists: its warm-up fetch must not win a race with the close
    const server = await jwksServer({ keys: [k1.jwk] })
    await server.close()
    const { verifier, clock } = jwksVerifier(server)
    const t = await k1Token(server.issuer, clock)
    expect(await reasonOf(verifier.verifyToken(t))).toBe('keys_unavailable')
    expect(verifier.health().issuers[0]?.lastError).toBe('network')
  })

  it('finds keys through OIDC discovery', async () => {
    const server = await jwksServer({ keys: [k1.jwk] })
    servers.push(server)
    const verifier = jwtVerifier({ issuer: server.issuer, audience: 'orders', discovery: true })
    const t = await k1Token(server.issuer)
    expect((await verifier.verifyToken(t)).id).toBe('billing')
    expect(server.state.discoveryRequests).toBe(1)
    expect(verifier.health().issuers[0]).toMatchObject({ source: 'discovery', state: 'fresh', keys: 1 })
  })

  it('refuses a discovery document that names another issuer (keys_unavailable, issuer_mismatch)', async () => {
    const server = await jwksServer({ keys: [k1.jwk] })
    servers.push(server)
    server.state.issuer = 'https://elsewhere.test'
    const verifier = jwtVerifier({ issuer: server.issuer, audience: 'orders', discovery: true })
    await verifier.warmUp()
    expect(verifier.health().issuers[0]).toMatchObject({ state: 'failing', lastError: 'issuer_mismatch' })
  })

  it('keeps one cache per issuer: one issuer down leaves the other working', async () => {
    const a = await jwksServer({ keys: [k1.jwk] })
    const b = await jwksServer({ keys: [k2.jwk] })
    servers.push(a, b)
    b.state.mode = 'status500'
    const verifier = jwtVerifier({
      issuer: [a.issuer, b.issuer],
      audience: 'orders',
      jwksUri: { [a.issuer]: a.jwksUri, [b.issuer]: b.jwksUri },
    })
    const mint = (issuer: string, pair: typeof k1) =>
      mintToken({
        key: { alg: 'ES256', kid: pair.jwk.kid as string, privateKey: pair.privateKey },
        issuer,
        subject: 'billing',
        audience: 'orders',
        scopes: [],
        ttl: 60,
      })
    expect(await reasonOf(verifier.verifyToken(await mint(a.issuer, k1)))).toBe('accepted')
    expect(await reasonOf(verifier.verifyToken(await mint(b.issuer, k2)))).toBe('keys_unavailable')
    // a token of issuer A signed with B's key is not found in A's set
    expect(await reasonOf(verifier.verifyToken(await mint(a.issuer, k2)))).toBe('unknown_kid')
    expect(verifier.health().issuers.map((issuer) => issuer.state)).toEqual(['fresh', 'failing'])
  })

  it.each([
    'http://issuer.example/jwks.json',
    'ftp://127.0.0.1/jwks.json',
    'https://user:pw@issuer.example/jwks.json',
  ])('throws ConfigError at startup for the insecure jwksUri %s', (jwksUri) => {
    expect(() => jwtVerifier({ issuer: 'https://i.test', audience: 'a', jwksUri })).toThrow(ConfigError)
  })

  it.each([
    'http://127.0.0.1:1/jwks.json',
    'http://127.8.9.10/jwks.json',
    'http://[::1]:1/j',
    'http://localhost:1/j',
  ])('allows plain http on loopback (%s)', (jwksUri) => {
    expect(() => jwtVerifier({ issuer: 'https://i.test', audience: 'a', jwksUri })).not.toThrow()
  })
})
