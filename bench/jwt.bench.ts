import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import type { AuthRequest } from '@callsign/core'
import { generateSigningKey, jwtVerifier, mintToken, type SigningAlgorithm } from '@callsign/jwt'
import { createVerifier } from 'fast-jwt'
import { jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { type Candidate, type Measurement, measure, table } from './support/measure.js'

const ISS = 'https://issuer.bench'
const AUD = 'orders'
const FLOOR = 'node:crypto verify (floor)'
const NO_CACHE = 'Callsign jwtVerifier, token cache off (first-seen)'

/** A request carrying a token, as an adapter hands it to `verify()`: the path every request takes. */
const bearer = (token: string): AuthRequest => {
  const value = [`Bearer ${token}`]
  return { transport: 'http', method: 'GET', route: '/orders/:id', header: () => value }
}

/** The raw signature check for a compact JWS: what any verifier must pay at least. */
function rawVerify(alg: SigningAlgorithm, key: KeyObject): (token: string) => void {
  const hash = alg === 'EdDSA' ? null : 'sha256'
  const keyInput = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key
  return (token) => {
    const dot = token.lastIndexOf('.')
    const ok = cryptoVerify(
      hash,
      Buffer.from(token.slice(0, dot)),
      keyInput,
      Buffer.from(token.slice(dot + 1), 'base64url'),
    )
    if (!ok) throw new Error('bad signature')
  }
}

async function algorithm(alg: SigningAlgorithm): Promise<{ rows: Measurement[]; text: string }> {
  const key = await generateSigningKey({ alg })
  const tokens = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      mintToken({ key, issuer: ISS, subject: `svc-${i}`, audience: AUD, scopes: ['orders:read'], ttl: 600 }),
    ),
  )
  const publicKey = createPublicKey(key.privateKey)
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  // Same checks everywhere: this algorithm only, iss, aud, exp, iat and sub required, 15-minute
  // lifetime, 5 s tolerance. A token cache far smaller than the pool makes every call a miss.
  const firstSeen = jwtVerifier({
    issuer: ISS,
    audience: AUD,
    keys: [key.publicJwk],
    algorithms: [alg],
    tokenCache: { maxEntries: 64 },
  })
  // Like for like with fast-jwt without its cache: no token cache, so no insert either.
  const uncached = jwtVerifier({
    issuer: ISS,
    audience: AUD,
    keys: [key.publicJwk],
    algorithms: [alg],
    tokenCache: false,
  })
  const cached = jwtVerifier({ issuer: ISS, audience: AUD, keys: [key.publicJwk], algorithms: [alg] })
  const fastJwtOptions = {
    key: pem,
    algorithms: [alg],
    allowedIss: ISS,
    allowedAud: AUD,
    requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'],
    maxAge: 900_000,
    clockTolerance: 5_000,
  }
  const fastJwt = createVerifier(fastJwtOptions)
  const fastJwtCached = createVerifier({ ...fastJwtOptions, cache: true })
  const hot = tokens[0] as string
  const hotRequest = bearer(hot)
  await cached.verify(hotRequest)
  fastJwtCached(hot)

  let i = 0
  const next = () => tokens[i++ % tokens.length] as string
  const requests = tokens.map(bearer)
  let r = 0
  const nextRequest = () => requests[r++ % requests.length] as AuthRequest
  const floor = rawVerify(alg, publicKey)
  const rows = await measure(
    [
      [FLOOR, () => floor(next())],
      ['Callsign jwtVerifier, first-seen token', () => firstSeen.verify(nextRequest())],
      [NO_CACHE, () => uncached.verify(nextRequest())],
      ['fast-jwt, no cache (first-seen)', () => fastJwt(next())],
      [
        'jose jwtVerify (first-seen)',
        () =>
          jwtVerify(next(), publicKey, {
            issuer: ISS,
            audience: AUD,
            algorithms: [alg],
            requiredClaims: ['sub', 'iat', 'exp'],
            maxTokenAge: 900,
            clockTolerance: 5,
          }),
      ],
      // jsonwebtoken 9 has no EdDSA.
      ...(alg === 'EdDSA'
        ? []
        : [
            [
              'jsonwebtoken with a KeyObject (first-seen)',
              () => {
                const payload = jsonwebtoken.verify(next(), publicKey, {
                  algorithms: [alg as jsonwebtoken.Algorithm],
                  issuer: ISS,
                  audience: AUD,
                  maxAge: 900,
                  clockTolerance: 5,
                }) as jsonwebtoken.JwtPayload
                if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number')
                  throw new Error('claims')
              },
            ] as Candidate,
          ]),
      ['Callsign jwtVerifier, repeated token (cache hit)', () => cached.verify(hotRequest)],
      ['fast-jwt with its cache, repeated token', () => fastJwtCached(hot)],
    ],
    { iterations: 4_000, rounds: 9, warmup: 2_000 },
  )
  const of = (name: string) => rows.find((row) => row.name === name)!.median
  const ours = of('Callsign jwtVerifier, first-seen token')
  const theirs = of('fast-jwt, no cache (first-seen)')
  const text = `${alg}: first-seen ${(ours / of(FLOOR)).toFixed(2)}× the raw verify (target ≤ 1.20×) with the default token cache (a miss, and a mark in its doorkeeper: a token is cached from its second use), ${(ours / theirs).toFixed(2)}× fast-jwt's time; like for like with fast-jwt (no token cache on either side) ${(of(NO_CACHE) / theirs).toFixed(2)}×; a cache hit costs ${(of('Callsign jwtVerifier, repeated token (cache hit)') / 1000).toFixed(2)} µs against fast-jwt's cached ${(of('fast-jwt with its cache, repeated token') / 1000).toFixed(2)} µs.`
  return { rows, text }
}

/**
 * JWT verification per algorithm, each beside its floor measured in the same run: a raw
 * node:crypto verify of the same tokens. Then jwtVerifier first-seen and cached, fast-jwt with and
 * without its cache, jose jwtVerify, and jsonwebtoken given a KeyObject (its fast path).
 */
export async function run(): Promise<string> {
  const out = [
    '## JWT verification (micro, in process)',
    '',
    'Every library (jsonwebtoken 9 has no EdDSA) is given the same 1 000 tokens and the same checks: the one algorithm, `iss`, `aud`, `exp`, `iat` and `sub` required, a 15-minute maximum lifetime, 5 s clock tolerance. "First-seen" rows cycle through the pool (Callsign with a 64-entry token cache, so every call is a miss, and with the token cache off, like fast-jwt without its cache); Callsign is called as the adapters call it, `verify(request)` with the token in an `Authorization: Bearer` header, which answers synchronously when the key is at hand (`verifyToken(token)`, for callers without a request, runs the same checks behind a promise). "Repeated" rows verify one token over and over. × floor is the median time against the raw `node:crypto` verify of the same tokens, measured in the same interleaved rounds.',
  ]
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    const { rows, text } = await algorithm(alg)
    out.push('', `### ${alg}`, '', table(rows, FLOOR), '', text)
  }
  return out.join('\n')
}
