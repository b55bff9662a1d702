import { createHash, randomBytes } from 'node:crypto'
import { ConfigError } from '@callsign/core'
import { describe, expect, it } from 'vitest'
import {
  generateSigningKey,
  type JwtVerifierOptions,
  jwtVerifier,
  mintToken,
  SIGNING_ALGORITHMS,
} from '../src/index.js'
import { es256Pair, manualClock, requestWith, signRaw, thumbprint, tlsPeer } from './support.js'

const ISS = 'https://issuer.test'
const pair = es256Pair('k1')
const key = { alg: 'ES256', kid: 'k1', privateKey: pair.privateKey } as const

function setup(options: Partial<JwtVerifierOptions> = {}) {
  const clock = manualClock()
  const verifier = jwtVerifier({
    issuer: ISS,
    audience: 'orders',
    keys: [pair.jwk],
    clock,
    ...options,
  } as JwtVerifierOptions)
  const mint = (over: Partial<Parameters<typeof mintToken>[0]> = {}) =>
    mintToken({
      key,
      issuer: ISS,
      subject: 'billing',
      audience: 'orders',
      scopes: ['orders:read'],
      ttl: 300,
      clock,
      ...over,
    })
  return { clock, verifier, mint }
}
/** The reason of a refusal, whether the verifier threw at once or rejected later; 'accepted' if none. */
const reasonOf = (verification: () => unknown) =>
  (async () => verification())().then(
    () => 'accepted',
    (error: { reason?: string }) => error.reason,
  )

describe('jwtVerifier', () => {
  it('maps a valid token to a Caller: id from sub, scopes, jti as credentialId, expiresAt from exp', async () => {
    const { verifier, mint, clock } = setup()
    const token = await mint({ scopes: ['orders:read', 'orders:write'], jti: 'token-1' })
    const caller = await verifier.verify(requestWith(`Bearer ${token}`))
    expect(caller).toMatchObject({ id: 'billing', kind: 'jwt', credentialId: 'token-1' })
    expect([...(caller?.scopes ?? [])]).toEqual(['orders:read', 'orders:write'])
    expect(caller?.expiresAt?.getTime()).toBe(Math.floor(clock.now() / 1000) * 1000 + 300_000)
    expect(caller?.attributes).toMatchObject({ iss: ISS, aud: 'orders' })
  })

  it('uses a hash of the token as credentialId when there is no jti', async () => {
    const { verifier, mint } = setup()
    const token = await mint({ jti: false })
    const caller = await verifier.verifyToken(token)
    expect(caller.credentialId).toBe(`sha256:${createHash('sha256').update(token).digest('base64url')}`)
  })

  it('reads scopes from an scp array and the caller id from a configured subjectClaim', async () => {
    const { verifier, clock } = setup({ subjectClaim: 'client_id' })
    const now = Math.floor(clock.now() / 1000)
    const token = signRaw(
      { alg: 'ES256', kid: 'k1' },
      {
        iss: ISS,
        sub: 'u',
        client_id: 'billing',
        aud: ['x', 'orders'],
        iat: now,
        exp: now + 60,
        scp: ['a:b', 'c:d'],
      },
      pair.privateKey,
    )
    const caller = await verifier.verifyToken(token)
    expect(caller.id).toBe('billing')
    expect([...caller.scopes]).toEqual(['a:b', 'c:d'])
  })

  it('returns null for a request with no bearer token or a bearer value that is not JWT-shaped', async () => {
    const { verifier } = setup()
    expect(await verifier.verify(requestWith())).toBeNull()
    expect(await verifier.verify(requestWith('Basic dXNlcjpwdw=='))).toBeNull()
    expect(await verifier.verify(requestWith('Bearer cs_live_abc123_secretsecret'))).toBeNull()
    expect(await verifier.verify(requestWith('Bearer  a.b.c'))).toBeNull()
  })

  it('accepts the Bearer scheme case-insensitively', async () => {
    const { verifier, mint } = setup()
    expect(await verifier.verify(requestWith(`bEaReR ${await mint()}`))).toMatchObject({ id: 'billing' })
  })

  it('honours the clock tolerance on exp and refuses one second past it (401 expired)', async () => {
    const { verifier, mint, clock } = setup({ tokenCache: false })
    const token = await mint({ ttl: 60 })
    clock.advance(64)
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('accepted')
    clock.advance(1)
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('expired')
  })

  it('never serves a cached token past exp or before nbf (401 expired / not_yet_valid)', async () => {
    const { verifier, mint, clock } = setup({ clockTolerance: 0 })
    const token = await mint({ ttl: 60 })
    for (let use = 0; use < 3; use++) await verifier.verifyToken(token) // cached from its second use
    expect(verifier.health().tokenCache?.hits).toBe(1)
    clock.advance(60)
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('expired')
    const later = await mint({ notBefore: 30 })
    expect(await reasonOf(async () => verifier.verifyToken(later))).toBe('not_yet_valid')
    clock.advance(30)
    expect(await reasonOf(async () => verifier.verifyToken(later))).toBe('accepted')
  })

  it('keys the token cache by the whole token: another signature, or the same one under another payload, is not a hit', async () => {
    const { verifier, mint } = setup()
    const token = await mint()
    await verifier.verifyToken(token)
    await verifier.verifyToken(token) // cached from its second use
    expect(verifier.health().tokenCache?.size).toBe(1)
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(86)}`
    expect(await reasonOf(async () => verifier.verifyToken(forged))).toBe('bad_signature')
    // The same signature under another payload ends exactly like the cached token: still not a hit.
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const otherPayload = Buffer.from(JSON.stringify({ ...claims, scope: 'orders:admin' })).toString(
      'base64url',
    )
    const copied = `${header}.${otherPayload}.${signature}`
    expect(await reasonOf(() => verifier.verify(requestWith(`Bearer ${copied}`)))).toBe('bad_signature')
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('accepted')
  })

  it('answers a cached token, or a new one whose key is at hand, without waiting', async () => {
    const { verifier, mint } = setup()
    const request = requestWith(`Bearer ${await mint()}`)
    const first = verifier.verify(request)
    expect(first).not.toBeInstanceOf(Promise)
    expect(first).toMatchObject({ id: 'billing' })
    const second = verifier.verify(request) // verified again, and cached from this second use
    expect(verifier.verify(request)).toBe(second)
    expect(verifier.health().tokenCache).toMatchObject({ hits: 1, misses: 2 })
  })

  it('caches a token from its second use: a token used once takes no cache entry', async () => {
    const { verifier, mint } = setup()
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => mint()))
    for (const token of tokens)
      expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('accepted')
    expect(verifier.health().tokenCache).toMatchObject({ size: 0, hits: 0, misses: 5 })
    await verifier.verifyToken(tokens[2]!)
    await verifier.verifyToken(tokens[2]!)
    expect(verifier.health().tokenCache).toMatchObject({ size: 1, hits: 1, misses: 6 })
  })

  it('checks typ when configured (at+jwt, application/ prefix allowed) and refuses others with wrong_type', async () => {
    const { verifier, mint } = setup({ typ: 'at+jwt' })
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ typ: 'application/at+jwt' })))).toBe(
      'accepted',
    )
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ typ: 'JWT' })))).toBe('wrong_type')
  })

  it('refuses a replayed one-time token with 401 replayed', async () => {
    const { verifier, mint } = setup({ replayProtection: true })
    const token = await mint()
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('accepted')
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('replayed')
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ jti: false })))).toBe('missing_claim')
  })

  it('forgets a one-time jti after exp plus tolerance and refuses new ones when full of live entries', async () => {
    const { verifier, mint, clock } = setup({ replayProtection: { maxEntries: 2 } })
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ ttl: 10 })))).toBe('accepted')
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ ttl: 10 })))).toBe('accepted')
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ ttl: 10 })))).toBe(
      'replay_cache_full',
    )
    clock.advance(16)
    expect(await reasonOf(async () => verifier.verifyToken(await mint({ ttl: 10 })))).toBe('accepted')
  })

  it('records uses in a given replay store: a replay there is refused, a store that rejects refuses the token', async () => {
    const used = new Map<string, number>()
    const store = {
      claim: async (key: string, untilMs: number, nowMs: number) => {
        if ((used.get(key) ?? 0) > nowMs) return false
        used.set(key, untilMs)
        return true
      },
    }
    const { verifier, mint } = setup({ replayProtection: { store } })
    const token = await mint()
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('accepted')
    expect(await reasonOf(async () => verifier.verifyToken(token))).toBe('replayed')
    const down = setup({ replayProtection: { store: { claim: () => Promise.reject(new Error('down')) } } })
    expect(await reasonOf(async () => down.verifier.verifyToken(await down.mint()))).toBe(
      'replay_store_unavailable',
    )
    expect(() => setup({ replayProtection: { store: {} as never } })).toThrow(ConfigError)
  })

  describe('certificate binding (RFC 8705)', () => {
    const der = randomBytes(300)
    it('accepts a bound token over an authorized TLS connection with that certificate and sets boundCertificate', async () => {
      const { verifier, mint } = setup()
      const token = await mint({ certificateThumbprint: thumbprint(der) })
      const caller = await verifier.verify(requestWith(`Bearer ${token}`, tlsPeer(der)))
      expect(caller?.boundCertificate).toBe(thumbprint(der))
    })

    it('refuses it with another certificate, an unauthorized connection or none (401 certificate_binding), cached or not', async () => {
      const { verifier, mint } = setup()
      const token = await mint({ certificateThumbprint: thumbprint(der) })
      await verifier.verify(requestWith(`Bearer ${token}`, tlsPeer(der)))
      for (const tls of [tlsPeer(randomBytes(300)), tlsPeer(der, false), undefined]) {
        expect(await reasonOf(async () => verifier.verify(requestWith(`Bearer ${token}`, tls)))).toBe(
          'certificate_binding',
        )
      }
    })
  })

  it('accepts tokens of every signing algorithm from generateSigningKey when allowed', async () => {
    for (const alg of SIGNING_ALGORITHMS) {
      const signing = await generateSigningKey({ alg })
      const verifier = jwtVerifier({
        issuer: ISS,
        audience: 'orders',
        keys: [signing.publicJwk],
        algorithms: [alg],
      })
      const token = await mintToken({
        key: signing,
        issuer: ISS,
        subject: 'billing',
        audience: 'orders',
        scopes: [],
        ttl: 60,
      })
      expect((await verifier.verifyToken(token)).id).toBe('billing')
    }
  })

  it('verifies HMAC only in the explicit shared-secret mode', async () => {
    const secret = randomBytes(32)
    const verifier = jwtVerifier({ issuer: ISS, audience: 'orders', secret })
    const token = await mintToken({
      key: { alg: 'HS256', secret },
      issuer: ISS,
      subject: 'billing',
      audience: 'orders',
      scopes: [],
      ttl: 60,
    })
    expect((await verifier.verifyToken(token)).id).toBe('billing')
    const es = await mintToken({
      key,
      issuer: ISS,
      subject: 'billing',
      audience: 'orders',
      scopes: [],
      ttl: 60,
    })
    expect(await reasonOf(async () => verifier.verifyToken(es))).toBe('alg_not_allowed')
  })

  describe('static keys of several issuers', () => {
    const partner = es256Pair('p1')
    const PARTNER = 'https://partner.test'
    const now = () => Math.floor(Date.now() / 1000)
    const mintAs = (issuer: string, signer: { kid: string; privateKey: typeof pair.privateKey }) =>
      signRaw(
        { alg: 'ES256', typ: 'JWT', kid: signer.kid },
        { iss: issuer, sub: 'billing', aud: 'orders', iat: now(), exp: now() + 60 },
        signer.privateKey,
      )

    it("binds each key to its issuer: a token claiming issuer A signed with B's key is refused (401 unknown_kid)", async () => {
      const verifier = jwtVerifier({
        issuer: [ISS, PARTNER],
        audience: 'orders',
        keys: { [ISS]: [pair.jwk], [PARTNER]: { keys: [partner.jwk] } },
      })
      const ours = { kid: 'k1', privateKey: pair.privateKey }
      const theirs = { kid: 'p1', privateKey: partner.privateKey }
      expect(await reasonOf(() => verifier.verifyToken(mintAs(ISS, ours)))).toBe('accepted')
      expect(await reasonOf(() => verifier.verifyToken(mintAs(PARTNER, theirs)))).toBe('accepted')
      expect(await reasonOf(() => verifier.verifyToken(mintAs(ISS, theirs)))).toBe('unknown_kid')
      expect(await reasonOf(() => verifier.verifyToken(mintAs(PARTNER, ours)))).toBe('unknown_kid')
      expect(verifier.health().issuers.map(({ issuer, keys }) => [issuer, keys])).toEqual([
        [ISS, 1],
        [PARTNER, 1],
      ])
    })

    it.each([
      ['a list of keys', { keys: [pair.jwk, partner.jwk] }, /map each issuer to its own keys/],
      ['a JWKS', { keys: { keys: [pair.jwk, partner.jwk] } }, /map each issuer to its own keys/],
      ['a map missing an issuer', { keys: { [ISS]: [pair.jwk] } }, /no list of keys or JWKS for issuer/],
      [
        'a map naming an issuer not accepted',
        { keys: { [ISS]: [pair.jwk], [PARTNER]: [partner.jwk], 'https://x.test': [pair.jwk] } },
        /"https:\/\/x\.test", which is not in "issuer"/,
      ],
      ['an empty list for one issuer', { keys: { [ISS]: [pair.jwk], [PARTNER]: [] } }, /for issuer/],
      ['one shared secret', { keys: undefined, secret: randomBytes(32) }, /one verifier per issuer/],
    ])('throws ConfigError at startup for several issuers with %s', (_name, over, message) => {
      const options = { issuer: [ISS, PARTNER], audience: 'orders', ...over } as JwtVerifierOptions
      expect(() => jwtVerifier(options)).toThrow(ConfigError)
      expect(() => jwtVerifier(options)).toThrow(message)
    })

    it('accepts a map for a single issuer, and names a bad key by issuer and index', () => {
      expect(() =>
        jwtVerifier({ issuer: ISS, audience: 'orders', keys: { [ISS]: [pair.jwk] } }),
      ).not.toThrow()
      expect(() =>
        jwtVerifier({
          issuer: [ISS, PARTNER],
          audience: 'orders',
          keys: { [ISS]: [pair.jwk], [PARTNER]: [{ kty: 'EC', crv: 'P-256' }] },
        }),
      ).toThrow('"keys"["https://partner.test"][0]')
    })
  })

  it.each([
    ['no issuer', { issuer: undefined }, /"issuer"/],
    ['no audience', { audience: [] }, /"audience"/],
    ['no key source', { keys: undefined }, /exactly one of/],
    ['keys and a secret', { secret: randomBytes(32) }, /exactly one of/],
    ['an HMAC algorithm with asymmetric keys', { algorithms: ['ES256', 'HS256'] }, /HMAC/],
    ['alg none', { algorithms: ['none'] }, /"algorithms"/],
    ['a short secret', { keys: undefined, secret: randomBytes(16) }, /"secret"/],
    ['a clock tolerance of 10 minutes', { clockTolerance: 600 }, /"clockTolerance"/],
    ['a negative maxLifetime', { maxLifetime: -1 }, /"maxLifetime"/],
    ['a cool-down of 0', { keyCache: { unknownKidCooldown: 0 } }, /"keyCache.unknownKidCooldown"/],
    ['an unbounded staleIfError', { keyCache: { staleIfError: 1e9 } }, /"keyCache.staleIfError"/],
    ['a typ with spaces', { typ: 'at jwt' }, /"typ"/],
    ['a key that is not a key', { keys: [{ kty: 'EC', crv: 'P-256' }] }, /"keys"\[0\]/],
    ['a 1024-bit RSA key', { keys: [{ kty: 'RSA', n: 'AQAB'.repeat(43), e: 'AQAB' }] }, /"keys"\[0\]/],
  ])('throws ConfigError at startup for %s', (_name, over, message) => {
    expect(() => setup(over as Partial<JwtVerifierOptions>)).toThrow(ConfigError)
    expect(() => setup(over as Partial<JwtVerifierOptions>)).toThrow(message)
  })
})
