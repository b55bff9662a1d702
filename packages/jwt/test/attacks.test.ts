import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { createPipeline, definePolicy } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import { describe, expect, it } from 'vitest'
import { jwtVerifier } from '../src/index.js'
import { es256Pair, manualClock, requestWith, signRaw } from './support.js'

const ISS = 'https://issuer.test'
const clock = manualClock()
const now = Math.floor(clock.now() / 1000)
const { privateKey, publicKey, jwk } = es256Pair('k1')
const attacker = es256Pair('k1')
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })

const claims = (over: Record<string, unknown> = {}) => {
  const base: Record<string, unknown> = {
    iss: ISS,
    sub: 'billing',
    aud: 'orders',
    iat: now,
    exp: now + 300,
    scope: 'orders:read',
    jti: 'j-1',
  }
  for (const [name, value] of Object.entries(over)) {
    if (value === undefined) delete base[name]
    else base[name] = value
  }
  return base
}
const header = (over: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: 'JWT', kid: 'k1', ...over })
const good = (over?: Record<string, unknown>, head?: Record<string, unknown>, key: KeyObject = privateKey) =>
  signRaw(header(head), claims(over), key)
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const withBom = (value: unknown) =>
  Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(value))]).toString('base64url')
/** `<header>.<payload>` with a valid ES256 signature by our key, whatever the segments hold. */
const signedInput = (input: string) =>
  `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
const unsigned = (alg: string) => `${b64({ alg, typ: 'JWT' })}.${b64(claims())}.`
const hmacWith = (secret: Buffer | string, head: Record<string, unknown>) => {
  const input = `${b64(head)}.${b64(claims())}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const swapSignature = (token: string, signature: string) =>
  `${token.slice(0, token.lastIndexOf('.'))}.${signature}`

const verifier = jwtVerifier({ issuer: ISS, audience: 'orders', keys: [jwk], clock })
const pipeline = createPipeline({
  policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
  verifiers: [verifier],
  clock,
})

// [name, token, reason]
const attacks: [string, () => string, string][] = [
  ['alg none', () => unsigned('none'), 'alg_not_allowed'],
  ['alg None', () => unsigned('None'), 'alg_not_allowed'],
  ['alg NONE', () => unsigned('NONE'), 'alg_not_allowed'],
  ['alg nOnE', () => unsigned('nOnE'), 'alg_not_allowed'],
  [
    'alg none with a signature',
    () => swapSignature(unsigned('none'), good().split('.')[2] as string),
    'alg_not_allowed',
  ],
  ['a missing alg', () => signRaw({ typ: 'JWT', kid: 'k1' }, claims(), privateKey), 'alg_not_allowed'],
  [
    'HMAC signed with the public key PEM (key confusion)',
    () => hmacWith(publicKey.export({ type: 'spki', format: 'pem' }) as string, header({ alg: 'HS256' })),
    'alg_not_allowed',
  ],
  [
    'HMAC signed with the public JWK (key confusion)',
    () => hmacWith(JSON.stringify(jwk), header({ alg: 'HS256' })),
    'alg_not_allowed',
  ],
  [
    'RS256 under the kid of an EC key',
    () => signRaw(header({ alg: 'RS256' }), claims(), rsa.privateKey),
    'alg_not_allowed',
  ],
  ['an embedded jwk', () => good({}, { jwk: attacker.jwk }, attacker.privateKey), 'embedded_key'],
  [
    'a remote jku',
    () => good({}, { jku: 'https://evil.test/jwks.json' }, attacker.privateKey),
    'embedded_key',
  ],
  [
    'a remote x5u',
    () => good({}, { x5u: 'https://evil.test/cert.pem' }, attacker.privateKey),
    'embedded_key',
  ],
  ['an embedded x5c', () => good({}, { x5c: ['MIIB'] }), 'embedded_key'],
  ['an empty signature', () => swapSignature(good(), ''), 'bad_signature'],
  [
    'a tampered payload',
    () => {
      const [h, , s] = good().split('.')
      return `${h}.${b64(claims({ sub: 'admin' }))}.${s}`
    },
    'bad_signature',
  ],
  ['a signature by another key under our kid', () => good({}, {}, attacker.privateKey), 'bad_signature'],
  [
    'a DER-encoded ECDSA signature',
    () => {
      const input = `${b64(header())}.${b64(claims())}`
      return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
    },
    'bad_signature',
  ],
  ['an unknown kid', () => good({}, { kid: 'k9' }), 'unknown_kid'],
  ['kid __proto__', () => good({}, { kid: '__proto__' }), 'unknown_kid'],
  ['kid constructor', () => good({}, { kid: 'constructor' }), 'unknown_kid'],
  ['a crit header', () => good({}, { crit: ['exp'], exp: 1 }), 'unsupported_crit'],
  ['an expired token', () => good({ iat: now - 400, exp: now - 60 }), 'expired'],
  ['a token not yet valid', () => good({ nbf: now + 60 }), 'not_yet_valid'],
  ['a token issued in the future', () => good({ iat: now + 60, exp: now + 120 }), 'issued_in_future'],
  ['a wrong iss', () => good({ iss: 'https://evil.test' }), 'wrong_issuer'],
  ['a wrong aud', () => good({ aud: 'payments' }), 'wrong_audience'],
  ['a wrong aud list', () => good({ aud: ['payments', 'users'] }), 'wrong_audience'],
  ['a missing iss', () => good({ iss: undefined }), 'missing_claim'],
  ['a missing sub', () => good({ sub: undefined }), 'missing_claim'],
  ['a missing aud', () => good({ aud: undefined }), 'missing_claim'],
  ['a missing exp', () => good({ exp: undefined }), 'missing_claim'],
  ['a missing iat', () => good({ iat: undefined }), 'missing_claim'],
  ['an exp that is a string', () => good({ exp: String(now + 300) }), 'invalid_claim'],
  ['an overlong lifetime', () => good({ exp: now + 3600 }), 'lifetime_too_long'],
  ['an oversized token', () => good({ pad: 'x'.repeat(10_000) }), 'token_too_large'],
  ['invalid base64url (+)', () => `${good().slice(0, 5)}+${good().slice(6)}`, 'malformed'],
  ['base64 padding', () => `${good()}=`, 'malformed'],
  [
    'a non-canonical signature encoding (unused bits set: the same bytes, another spelling)',
    () => {
      const token = good()
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const last = alphabet.indexOf(token.at(-1) as string)
      return `${token.slice(0, -1)}${alphabet[last ^ 1]}`
    },
    'malformed',
  ],
  [
    'a UTF-8 byte order mark before the header JSON',
    () => signedInput(`${withBom(header())}.${b64(claims())}`),
    'malformed',
  ],
  [
    'a UTF-8 byte order mark before the payload JSON',
    () => signedInput(`${b64(header())}.${withBom(claims())}`),
    'malformed',
  ],
  ['invalid JSON', () => `${b64('{"alg":"ES256"')}.${b64(claims())}.AAAA`, 'malformed'],
  ['a JSON array payload', () => signRaw(header(), '[1,2]', privateKey), 'malformed'],
  [
    'a certificate-bound token without TLS',
    () => good({ cnf: { 'x5t#S256': 'A'.repeat(43) } }),
    'certificate_binding',
  ],
]

describe('jwtVerifier refuses the RFC 8725 / OWASP attack family', () => {
  const table = attacks.map(([name, make, reason]) => ({ name, make, reason }))
  it.each(table)(
    'refuses $name with 401 and ERR_INVALID_CREDENTIAL (reason $reason)',
    async ({ make, reason }) => {
      const token = make()
      const decision = await pipeline.decide(requestWith(`Bearer ${token}`))
      expect(decision.allowed).toBe(false)
      if (decision.allowed) return
      expect(decision.error.code).toBe('ERR_INVALID_CREDENTIAL')
      expect(decision.error.reason).toBe(reason)
      const refusal = httpRefusal(decision.error)
      expect(refusal.status).toBe(401)
      const wire = JSON.stringify(refusal)
      expect(wire).not.toContain(reason)
      expect(wire).not.toContain(token.slice(0, 20))
    },
  )

  it('accepts the untampered control token (so the table tests what it claims)', async () => {
    const decision = await pipeline.decide(requestWith(`Bearer ${good()}`))
    expect(decision.allowed).toBe(true)
  })

  it('refuses a stripped signature (two parts) with 401 ERR_NO_CREDENTIAL: it is not a JWT at all', async () => {
    const [h, p] = good().split('.')
    const decision = await pipeline.decide(requestWith(`Bearer ${h}.${p}`))
    expect(decision.allowed).toBe(false)
    if (!decision.allowed) expect(httpRefusal(decision.error).status).toBe(401)
  })

  it('never throws anything but an AuthError for random garbage (no 500)', async () => {
    const samples = [
      'a.b.c',
      'x..',
      'eyJ.eyJ.',
      `${b64('null')}.${b64('null')}.AA`,
      `${b64('"s"')}.${b64(1)}.AA`,
    ]
    for (const sample of samples) {
      const error = await (async () => verifier.verify(requestWith(`Bearer ${sample}`)))().catch(
        (e: unknown) => e,
      )
      expect(error).toMatchObject({ name: 'AuthError', code: 'ERR_INVALID_CREDENTIAL' })
    }
  })
})
