import { parseApiKey } from '@callsign/api-key'
import {
  type AuthRequest,
  ConfigError,
  createPipeline,
  definePolicy,
  isAuthError,
  type Verifier,
} from '@callsign/core'
import { parseSpiffeId, SpiffeIdError } from '@callsign/mtls'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SecurityCredentials, securityCredentials, withChecksum } from './support/credentials.js'
import { realVerifiers } from './support/targets.js'

// Property-based tests: no input makes a parser throw anything but its coded error, and nothing
// is accepted that should not be. Each property states the reference it is checked against.

const CODES = new Set([
  'ERR_NO_CREDENTIAL',
  'ERR_INVALID_CREDENTIAL',
  'ERR_AMBIGUOUS_REQUEST',
  'ERR_INSUFFICIENT_SCOPE',
  'ERR_ROUTE_NOT_IN_POLICY',
])
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const base62 = (length: number) =>
  fc.string({ unit: fc.constantFrom(...BASE62), minLength: length, maxLength: length })
/** A well-formed key with a correct checksum, built from the documented format. */
const wellFormedKey = fc
  .tuple(base62(12), base62(43))
  .map(([id, secret]) => withChecksum(`csk_${id}_${secret}`))
const anyText = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...`${BASE62}_-. :=,\t/`), maxLength: 90 }),
)

describe('parseApiKey properties', () => {
  it('throws only AuthError ERR_INVALID_CREDENTIAL (wrong_prefix, malformed, checksum) for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          anyText.map((s) => `csk_${s}`),
        ),
        (text) => {
          try {
            parseApiKey(text)
          } catch (error) {
            expect(isAuthError(error)).toBe(true)
            expect((error as { code: string }).code).toBe('ERR_INVALID_CREDENTIAL')
            expect(['wrong_prefix', 'malformed', 'checksum']).toContain((error as { reason: string }).reason)
            return
          }
          // accepted: then it must be a well-formed key whose checksum is right
          expect(text).toMatch(/^csk_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/)
          expect(withChecksum(text.slice(0, -6))).toBe(text)
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('accepts every well-formed key and returns its id, never its secret', () => {
    fc.assert(
      fc.property(wellFormedKey, (key) => {
        const parsed = parseApiKey(key)
        expect(parsed.id).toBe(key.slice(4, 16))
        expect(JSON.stringify(parsed)).not.toContain(key.slice(17, 60))
      }),
      { numRuns: 500 },
    )
  })

  it('refuses every single-character substitution, deletion or insertion of a valid key', () => {
    fc.assert(
      fc.property(
        wellFormedKey,
        fc.nat(),
        fc.constantFrom(...BASE62, '_', '-', ' '),
        fc.constantFrom('substitute', 'delete', 'insert'),
        (key, at, char, edit) => {
          const i = at % key.length
          const mutated =
            edit === 'substitute'
              ? key.slice(0, i) + char + key.slice(i + 1)
              : edit === 'delete'
                ? key.slice(0, i) + key.slice(i + 1)
                : key.slice(0, i) + char + key.slice(i)
          fc.pre(mutated !== key)
          expect(() => parseApiKey(mutated)).toThrow(
            expect.objectContaining({ code: 'ERR_INVALID_CREDENTIAL' }),
          )
        },
      ),
      { numRuns: 3000 },
    )
  })
})

/** The SPIFFE ID grammar, written independently of the parser. */
function isSpiffeIdReference(value: string): boolean {
  if (Buffer.byteLength(value) > 2048) return false
  const match = /^spiffe:\/\/([a-z0-9._-]{1,255})((?:\/[A-Za-z0-9._-]+)*)$/.exec(value)
  if (!match) return false
  return match[2]!
    .split('/')
    .slice(1)
    .every((segment) => segment !== '.' && segment !== '..')
}

describe('parseSpiffeId properties', () => {
  const segment = fc.oneof(
    fc.string({ unit: fc.constantFrom(...'abcXYZ019._-'), minLength: 0, maxLength: 6 }),
    fc.constantFrom('.', '..', '%2e', 'a b', 'A', 'é', '?', '#', '@', ':'),
  )
  const nearSpiffe = fc
    .tuple(
      fc.constantFrom('spiffe://', 'SPIFFE://', 'spiffe:/', 'spiffe:///', 'https://', ''),
      fc.oneof(
        fc.string({ unit: fc.constantFrom(...'abc.-_019'), maxLength: 12 }),
        fc.constantFrom('Mesh.local', 'mesh.local:80', 'u@mesh.local', 'mesh%2elocal', ''),
        fc.constant('a'.repeat(256)),
      ),
      fc.array(segment, { maxLength: 5 }),
      fc.constantFrom('', '/', '?q', '#f'),
    )
    .map(
      ([scheme, domain, segments, tail]) =>
        `${scheme}${domain}${segments.map((s) => `/${s}`).join('')}${tail}`,
    )

  it('throws only SpiffeIdError with a rule, and accepts exactly the SPIFFE grammar', () => {
    fc.assert(
      fc.property(fc.oneof(nearSpiffe, fc.string({ maxLength: 60 })), (value) => {
        let accepted = false
        try {
          const id = parseSpiffeId(value)
          accepted = true
          expect(id.id).toBe(value)
        } catch (error) {
          expect(error).toBeInstanceOf(SpiffeIdError)
          expect((error as SpiffeIdError).rule).toMatch(/^[a-z_]+$/)
        }
        expect(accepted).toBe(isSpiffeIdReference(value))
      }),
      { numRuns: 5000 },
    )
  })
})

describe('policy properties', () => {
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'get', 'TRACE')
  const path = fc
    .array(fc.constantFrom('orders', ':id', 'Orders', 'a', '', '%2F', '..', '*', 'b.c'), {
      minLength: 1,
      maxLength: 4,
    })
    .map((parts) => `/${parts.join('/')}`)
  const scope = fc.constantFrom(
    'orders:read',
    'orders:write',
    'orders:*',
    'orders',
    'a:b:c',
    ':x',
    'x y:z',
    'ORDERS:READ',
  )

  it('compiles any input into a policy or a ConfigError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.dictionary(
            fc.oneof(
              fc.string({ maxLength: 20 }),
              fc.tuple(method, path).map(([m, p]) => `${m} ${p}`),
            ),
            fc.oneof(fc.constant('public'), fc.array(scope, { maxLength: 3 }), fc.anything()),
          ),
          fc.anything(),
        ),
        fc.option(fc.anything()),
        (routes, grants) => {
          try {
            definePolicy({ routes, ...(grants === null ? {} : { grants }) } as never)
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('gives a requirement only to an exact policy key (HEAD as GET), and denies everything else', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE'), path), {
          minLength: 1,
          maxLength: 6,
          selector: ([m, p]) => `${m} ${p}`,
        }),
        method,
        path,
        (entries, askMethod, askPath) => {
          const routes = Object.fromEntries(entries.map(([m, p]) => [`${m} ${p}`, ['orders:read']]))
          const policy = definePolicy({ routes })
          const effective = askMethod === 'HEAD' ? 'GET' : askMethod
          const expected = Object.hasOwn(routes, `${effective} ${askPath}`)
          expect(policy.requirement('http', askMethod, askPath) !== undefined).toBe(expected)
          // an HTTP key never answers for gRPC, and the reverse
          expect(policy.requirement('grpc', 'POST', `${askMethod} ${askPath}`)).toBeUndefined()
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('allows a caller exactly when it holds every required scope, compared as exact strings', async () => {
    const scopes = [
      'orders:read',
      'orders:write',
      'orders:admin',
      'orders:administrator',
      'Orders:read',
      'orders:read.all',
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom(...scopes), { minLength: 1, maxLength: 3 }),
        fc.uniqueArray(fc.constantFrom(...scopes), { maxLength: 6 }),
        async (required, held) => {
          const verifier: Verifier = {
            kind: 'api-key',
            verify: async () => ({
              id: 'svc',
              kind: 'api-key',
              scopes: new Set(held),
              credentialId: 'k',
              attributes: {},
            }),
          }
          const pipeline = createPipeline({
            policy: definePolicy({ routes: { 'GET /x': required } }),
            verifiers: [verifier],
          })
          const decision = await pipeline.decide({
            transport: 'http',
            method: 'GET',
            route: '/x',
            header: () => [],
          })
          expect(decision.allowed).toBe(required.every((s) => held.includes(s)))
          if (!decision.allowed) expect(decision.error.code).toBe('ERR_INSUFFICIENT_SCOPE')
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('header parsing properties (the real verifiers behind one pipeline)', () => {
  let creds: SecurityCredentials
  let verifiers: Verifier[]
  let decide: (headers: Record<string, string[]>) => ReturnType<ReturnType<typeof createPipeline>['decide']>
  beforeAll(async () => {
    creds = await securityCredentials()
    verifiers = realVerifiers(creds)
    const pipeline = createPipeline({
      policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
      verifiers,
    })
    decide = (headers) => {
      const req: AuthRequest = {
        transport: 'http',
        method: 'GET',
        route: '/orders/:id',
        header: (name) => headers[name] ?? [],
      }
      return pipeline.decide(req)
    }
  })
  afterAll(() => creds?.store.close())

  const value = (c: () => SecurityCredentials) =>
    fc.oneof(
      anyText,
      fc
        .tuple(
          fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', 'Basic ', '', ' '),
          fc.constantFrom('reader', 'jwt', 'writer', 'junk'),
          fc.string({ maxLength: 3 }),
          fc.string({ maxLength: 3 }),
        )
        .map(([scheme, which, before, after]) => {
          const cred =
            which === 'reader'
              ? c().keys.reader
              : which === 'writer'
                ? c().keys.writer
                : which === 'jwt'
                  ? c().jwt.token()
                  : 'x.y.z'
          return `${scheme}${before}${cred}${after}`
        }),
    )

  it('refuses with a coded AuthError, never throws, and allows only an exact "Bearer <valid credential>"', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          value(() => creds),
          { maxLength: 2 },
        ),
        fc.array(
          value(() => creds),
          { maxLength: 2 },
        ),
        async (authorization, apiKey) => {
          const decision = await decide({ authorization, 'x-api-key': apiKey })
          if (!decision.allowed) {
            expect(isAuthError(decision.error)).toBe(true)
            expect(CODES.has(decision.error.code)).toBe(true)
            expect(decision.error.reason).not.toBe('verifier_error')
            return
          }
          // allowed: exactly one credential, presented exactly
          const presented = [...authorization, ...apiKey]
          expect(presented).toHaveLength(1)
          const only = presented[0]!
          const exact = [creds.keys.reader, creds.keys.writer]
          const ok =
            (apiKey.length === 1 && exact.includes(only)) ||
            (authorization.length === 1 && /^bearer [^ ]+$/i.test(only) && only.split(' ')[1]!.length > 20)
          expect(ok).toBe(true)
        },
      ),
      { numRuns: 1500 },
    )
  })

  it('each verifier returns null or throws a coded AuthError for any header, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          value(() => creds),
          { maxLength: 3 },
        ),
        fc.array(
          value(() => creds),
          { maxLength: 3 },
        ),
        async (authorization, apiKey) => {
          const req: AuthRequest = {
            transport: 'http',
            method: 'GET',
            route: '/orders/:id',
            header: (name) => (name === 'authorization' ? authorization : name === 'x-api-key' ? apiKey : []),
          }
          for (const verifier of verifiers) {
            try {
              await verifier.verify(req)
            } catch (error) {
              expect(isAuthError(error)).toBe(true)
              expect(CODES.has((error as { code: string }).code)).toBe(true)
            }
          }
        },
      ),
      { numRuns: 1000 },
    )
  })
})
