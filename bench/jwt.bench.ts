import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { generateSigningKey, jwtVerifier, mintToken } from '@callsign/jwt'
import { jwtVerify } from 'jose'
import { measure, table } from './support/measure.js'

const ISS = 'https://issuer.bench'

/**
 * ES256 verification: first-seen tokens through jwtVerifier against a raw node:crypto verify of
 * the same tokens (the baseline), a token-cache hit, and jose's jwtVerify for reference.
 */
export async function run(): Promise<string> {
  const key = await generateSigningKey({ alg: 'ES256' })
  const tokens = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      mintToken({
        key,
        issuer: ISS,
        subject: `svc-${i}`,
        audience: 'orders',
        scopes: ['orders:read'],
        ttl: 600,
      }),
    ),
  )
  const verifyKey = createPublicKey(key.privateKey)
  // A cache far smaller than the token pool: every verification below is a miss plus an insert.
  const firstSeen = jwtVerifier({
    issuer: ISS,
    audience: 'orders',
    keys: [key.publicJwk],
    tokenCache: { maxEntries: 64 },
  })
  const cached = jwtVerifier({ issuer: ISS, audience: 'orders', keys: [key.publicJwk] })
  const hot = tokens[0] as string
  await cached.verifyToken(hot)

  let i = 0
  const next = () => tokens[i++ % tokens.length] as string
  const rows = await measure(
    [
      [
        'node:crypto verify (baseline)',
        () => {
          const token = next()
          const dot = token.lastIndexOf('.')
          const ok = cryptoVerify(
            'sha256',
            Buffer.from(token.slice(0, dot)),
            { key: verifyKey, dsaEncoding: 'ieee-p1363' },
            Buffer.from(token.slice(dot + 1), 'base64url'),
          )
          if (!ok) throw new Error('bad signature')
        },
      ],
      ['jwtVerifier, first-seen token', () => firstSeen.verifyToken(next())],
      ['jwtVerifier, token-cache hit', () => cached.verifyToken(hot)],
      [
        'jose jwtVerify (reference)',
        () => jwtVerify(next(), verifyKey, { issuer: ISS, audience: 'orders', algorithms: ['ES256'] }),
      ],
    ],
    { iterations: 2000, rounds: 7, warmup: 1000 },
  )
  const hit = rows.find((row) => row.name === 'jwtVerifier, token-cache hit')
  return [
    '## jwt: ES256 verification',
    '',
    table(rows, 'node:crypto verify (baseline)'),
    '',
    `Target: first-seen within 1.2× of the baseline; a cache hit in a few µs (measured ${((hit?.median ?? 0) / 1000).toFixed(2)} µs).`,
  ].join('\n')
}
