import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { type AttackRow, runAttackTable, writeRoute } from './support/attack-table.js'
import { b64url, type SecurityCredentials, signJws } from './support/credentials.js'

// RFC 8725 (JWT BCP), the OWASP JWT cheat sheet and regressions of past JWT-library CVEs, sent
// end to end through Express, Fastify and gRPC to the real jwtVerifier. The verifier's own
// 40-row table (packages/jwt/test/attacks.test.ts) checks each reason at the pipeline; this one
// checks what reaches the wire and the handler.

const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const attackerJwk = { ...(attacker.publicKey.export({ format: 'jwk' }) as object), kid: 'k1', alg: 'ES256' }
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const now = () => Math.floor(Date.now() / 1000)

const bearer = (token: string) => ({ headers: [['authorization', `Bearer ${token}`]] as [string, string][] })
const claimsOf = (c: SecurityCredentials) =>
  JSON.parse(Buffer.from(c.jwt.token().split('.')[1]!, 'base64url').toString())
const unsigned = (c: SecurityCredentials, alg: string) =>
  `${b64url({ alg, typ: 'JWT' })}.${b64url(claimsOf(c))}.`
const hmac = (c: SecurityCredentials, secret: string | Buffer) => {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64url(claimsOf(c))}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const invalid = { code: 'ERR_INVALID_CREDENTIAL' } as const
/** JSON with a UTF-8 byte order mark in front, base64url-encoded. */
const withBom = (value: unknown) =>
  Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(value))]).toString('base64url')
/** `<header>.<payload>` signed with ES256, whatever the two segments hold. */
const signed = (input: string, key: KeyObject) =>
  `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`

const rows: AttackRow[] = [
  {
    name: 'control: a valid ES256 token',
    request: (c) => bearer(c.jwt.token()),
    expect: { allow: 'jwt-reader' },
  },
  // algorithm confusion and `none` (CVE-2015-9235, CVE-2016-10555, CVE-2022-21449 family)
  { name: 'alg none, no signature', request: (c) => bearer(unsigned(c, 'none')), expect: invalid },
  { name: 'alg NoNe, no signature', request: (c) => bearer(unsigned(c, 'NoNe')), expect: invalid },
  {
    name: 'alg none carrying a real signature',
    request: (c) => bearer(unsigned(c, 'none') + c.jwt.token().split('.')[2]),
    expect: invalid,
  },
  {
    name: 'HS256 signed with the public key PEM (key confusion, CVE-2016-10555)',
    request: (c) => bearer(hmac(c, c.jwt.publicKey.export({ type: 'spki', format: 'pem' }) as string)),
    expect: invalid,
  },
  {
    name: 'HS256 signed with the public JWK text (key confusion)',
    request: (c) => bearer(hmac(c, JSON.stringify(c.jwt.jwk))),
    expect: invalid,
  },
  {
    name: 'RS256 under the kid of the EC key',
    request: (c) => bearer(c.jwt.token({}, { alg: 'RS256' }, rsa.privateKey)),
    expect: invalid,
  },
  {
    name: 'ES256 with an all-zero r,s signature (psychic signatures, CVE-2022-21449)',
    request: (c) => {
      const [h, p] = c.jwt.token().split('.')
      return bearer(`${h}.${p}.${Buffer.alloc(64).toString('base64url')}`)
    },
    expect: invalid,
  },
  // embedded and remote keys (CVE-2018-0114 and the jku/x5u SSRF family)
  {
    name: 'an embedded jwk of the attacker, signed by the attacker',
    request: (c) => bearer(c.jwt.token({}, { jwk: attackerJwk }, attacker.privateKey)),
    expect: invalid,
  },
  {
    name: 'a jku pointing at an attacker JWKS',
    request: (c) => bearer(c.jwt.token({}, { jku: 'https://127.0.0.1:1/jwks.json' }, attacker.privateKey)),
    expect: invalid,
  },
  {
    name: 'an x5u pointing at an attacker certificate',
    request: (c) => bearer(c.jwt.token({}, { x5u: 'https://127.0.0.1:1/cert.pem' }, attacker.privateKey)),
    expect: invalid,
  },
  {
    name: 'an x5c chain in the header',
    request: (c) => bearer(c.jwt.token({}, { x5c: ['MIIB'] })),
    expect: invalid,
  },
  {
    name: 'a signature by another key under our kid',
    request: (c) => bearer(c.jwt.token({}, {}, attacker.privateKey)),
    expect: invalid,
  },
  {
    name: 'kid path traversal ../../../dev/null',
    request: (c) => bearer(c.jwt.token({}, { kid: '../../../dev/null' })),
    expect: invalid,
  },
  {
    name: "kid SQL injection ' OR '1'='1",
    request: (c) => bearer(c.jwt.token({}, { kid: "' OR '1'='1" })),
    expect: invalid,
  },
  { name: 'kid __proto__', request: (c) => bearer(c.jwt.token({}, { kid: '__proto__' })), expect: invalid },
  { name: 'a crit header', request: (c) => bearer(c.jwt.token({}, { crit: ['x'], x: 1 })), expect: invalid },
  // claim and lifetime abuse
  {
    name: 'a tampered payload (sub and scope escalated, signature of the original)',
    request: (c) => {
      const [h, , s] = c.jwt.token().split('.')
      return {
        ...writeRouteHeaders(`${h}.${b64url({ ...claimsOf(c), sub: 'admin', scope: 'orders:write' })}.${s}`),
      }
    },
    expect: invalid,
  },
  {
    name: 'an expired token',
    request: (c) => bearer(c.jwt.token({ iat: now() - 600, exp: now() - 300 })),
    expect: invalid,
  },
  {
    name: 'a token not yet valid (nbf +1 h)',
    request: (c) => bearer(c.jwt.token({ nbf: now() + 3600 })),
    expect: invalid,
  },
  {
    name: 'a token issued in the future',
    request: (c) => bearer(c.jwt.token({ iat: now() + 600, exp: now() + 700 })),
    expect: invalid,
  },
  {
    name: 'a year-long lifetime',
    request: (c) => bearer(c.jwt.token({ exp: now() + 31_536_000 })),
    expect: invalid,
  },
  { name: 'exp 1e308', request: (c) => bearer(c.jwt.token({ exp: 1e308 })), expect: invalid },
  {
    name: 'exp as a string',
    request: (c) => bearer(c.jwt.token({ exp: String(now() + 300) })),
    expect: invalid,
  },
  { name: 'no exp', request: (c) => bearer(c.jwt.token({ exp: undefined })), expect: invalid },
  {
    name: 'a foreign issuer',
    request: (c) => bearer(c.jwt.token({ iss: 'https://evil.test' })),
    expect: invalid,
  },
  {
    name: 'control: a valid token of the second issuer, signed with its key',
    request: (c) =>
      bearer(c.jwt.token({ iss: c.jwt.partner.issuer }, { kid: 'p1' }, c.jwt.partner.privateKey)),
    expect: { allow: 'jwt-reader' },
  },
  {
    name: "our issuer claimed, signed with the second issuer's key under its kid (keys bound to their issuer)",
    request: (c) => bearer(c.jwt.token({}, { kid: 'p1' }, c.jwt.partner.privateKey)),
    expect: invalid,
  },
  {
    name: 'iss as an array holding ours',
    request: (c) => bearer(c.jwt.token({ iss: [c.jwt.issuer] })),
    expect: invalid,
  },
  { name: 'another audience', request: (c) => bearer(c.jwt.token({ aud: 'payments' })), expect: invalid },
  {
    name: 'sub as an object',
    request: (c) => bearer(c.jwt.token({ sub: { id: 'admin' } })),
    expect: invalid,
  },
  {
    name: 'a certificate-bound token presented without the certificate',
    request: (c) => bearer(c.jwt.token({ cnf: { 'x5t#S256': 'A'.repeat(43) } })),
    expect: invalid,
  },
  // scope abuse through a validly signed token: exact comparison, no wildcard, no prefix
  {
    name: 'scope orders:* on the write route',
    request: (c, a) => ({ ...writeRoute(a), ...bearer(c.jwt.token({ scope: 'orders:*' })) }),
    expect: { code: 'ERR_INSUFFICIENT_SCOPE' },
  },
  {
    name: 'scope orders:writer (a prefix of nothing) on the write route',
    request: (c, a) => ({
      ...writeRoute(a),
      ...bearer(c.jwt.token({ scope: 'orders:writer ORDERS:WRITE' })),
    }),
    expect: { code: 'ERR_INSUFFICIENT_SCOPE' },
  },
  // malformed encodings
  {
    name: 'standard base64 (+ and /) instead of base64url',
    request: (c) => bearer(`${c.jwt.token().replace(/-/g, '+').replace(/_/g, '/')}+/`),
    expect: invalid,
  },
  { name: 'base64 padding', request: (c) => bearer(`${c.jwt.token()}=`), expect: invalid },
  {
    name: 'a header that is not JSON',
    request: (c) => bearer(`${b64url('{"alg":"ES256"')}.${c.jwt.token().split('.').slice(1).join('.')}`),
    expect: invalid,
  },
  {
    name: 'a payload that is a JSON array',
    request: (c) => bearer(signJws({ alg: 'ES256', kid: 'k1' }, [1, 2], c.jwt.privateKey)),
    expect: invalid,
  },
  {
    name: 'a UTF-8 byte order mark before the header JSON (validly signed)',
    request: (c) => {
      const [, p] = c.jwt.token().split('.')
      return bearer(signed(`${withBom({ alg: 'ES256', typ: 'JWT', kid: 'k1' })}.${p}`, c.jwt.privateKey))
    },
    expect: invalid,
  },
  {
    name: 'a UTF-8 byte order mark before the payload JSON (validly signed)',
    request: (c) => {
      const [h] = c.jwt.token().split('.')
      return bearer(signed(`${h}.${withBom(claimsOf(c))}`, c.jwt.privateKey))
    },
    expect: invalid,
  },
  {
    name: 'a payload with invalid UTF-8',
    request: (c) => {
      const [h, , s] = c.jwt.token().split('.')
      return bearer(`${h}.${Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url')}.${s}`)
    },
    expect: invalid,
  },
  {
    name: 'a 10 KB token',
    request: (c) => bearer(c.jwt.token({ pad: 'x'.repeat(10_000) })),
    expect: invalid,
  },
  {
    name: 'four dot-separated parts (JWE-shaped)',
    request: (c) => bearer(`${c.jwt.token()}.AAAA`),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'a stripped signature (two parts: not a JWT at all)',
    request: (c) => bearer(c.jwt.token().split('.').slice(0, 2).join('.')),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'a valid token in the query string instead of the header',
    only: ['express', 'fastify'],
    request: (c) => ({ path: `/orders/42?access_token=${c.jwt.token()}` }),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
]

function writeRouteHeaders(token: string) {
  return bearer(token)
}

runAttackTable('JWT attacks', rows)
