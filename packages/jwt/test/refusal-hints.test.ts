import { afterEach, describe, expect, it, vi } from 'vitest'
import { jwtVerifier } from '../src/jwt-verifier.js'
import { es256Pair, manualClock, signRaw } from './support.js'

// The first refusal of an IdP-shaped token says why, once, in the process warnings.

const IDP = 'https://idp.example/realms/acme'
const OTHER = 'https://login.example/tenant/v2.0'
const pair = es256Pair('k1')
const clock = manualClock()
const now = clock.now() / 1000

const token = (claims: Record<string, unknown>) =>
  signRaw({ alg: 'ES256', kid: 'k1', typ: 'JWT' }, { iat: now, exp: now + 3600, ...claims }, pair.privateKey)
const verifier = () =>
  jwtVerifier({
    issuer: [IDP, OTHER],
    audience: 'orders',
    keys: { [IDP]: [pair.jwk], [OTHER]: [pair.jwk] },
    clock,
    tokenCache: false,
  })

/** The CALLSIGN_JWT_REFUSED warnings emitted while `run` ran. */
async function warningsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
  try {
    await run()
    return spy.mock.calls
      .filter((call) => (call[1] as { code?: string } | undefined)?.code === 'CALLSIGN_JWT_REFUSED')
      .map((call) => String(call[0]))
  } finally {
    spy.mockRestore()
  }
}

const refused = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: { reason: string }) => error.reason,
  )

afterEach(() => vi.restoreAllMocks())

describe('refusals of tokens from common IdPs explain themselves once', () => {
  it('logs exactly one line naming maxLifetime for 3600 s tokens, however many are refused', async () => {
    const jwt = verifier()
    const reasons: string[] = []
    const lines = await warningsDuring(async () => {
      for (let i = 0; i < 3; i++) {
        reasons.push(
          await refused(jwt.verifyToken(token({ iss: IDP, sub: 'billing', aud: 'orders', jti: `t${i}` }))),
        )
      }
    })
    expect(reasons).toEqual(['lifetime_too_long', 'lifetime_too_long', 'lifetime_too_long'])
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(IDP)
    expect(lines[0]).toContain('3600 s, above maxLifetime (900 s)')
  })

  it('tells each issuer and each reason once: missing aud names the audience option, missing sub names sub', async () => {
    const jwt = verifier()
    const lines = await warningsDuring(async () => {
      const short = { exp: now + 300 }
      for (let i = 0; i < 2; i++) {
        await refused(jwt.verifyToken(token({ iss: IDP, sub: 'billing', ...short })))
        await refused(jwt.verifyToken(token({ iss: IDP, aud: 'orders', ...short })))
        await refused(jwt.verifyToken(token({ iss: IDP, sub: 'billing', aud: 'orders' })))
        await refused(jwt.verifyToken(token({ iss: OTHER, sub: 'billing', aud: 'orders' })))
      }
    })
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/no aud claim.*audience option/)
    expect(lines[1]).toMatch(/no sub claim/)
    expect(lines[2]).toContain(IDP)
    expect(lines[3]).toContain(OTHER)
    expect(lines[3]).toContain('maxLifetime')
  })

  it('says nothing for other refusals, and never prints the token', async () => {
    const jwt = verifier()
    const expired = token({ iss: IDP, sub: 'billing', aud: 'orders', iat: now - 600, exp: now - 300 })
    const wrongAudience = token({ iss: IDP, sub: 'billing', aud: 'billing', exp: now + 300 })
    const tooLong = token({ iss: IDP, sub: 'billing', aud: 'orders' })
    const lines = await warningsDuring(async () => {
      expect(await refused(jwt.verifyToken(expired))).toBe('expired')
      expect(await refused(jwt.verifyToken(wrongAudience))).toBe('wrong_audience')
      await refused(jwt.verifyToken(tooLong))
    })
    expect(lines).toHaveLength(1)
    expect(lines[0]).not.toContain(tooLong.split('.')[1])
  })
})
