import { describe, expect, it } from 'vitest'
import { authRequest as request } from '../../../test/support/auth-request.js'
import { GRPC_STATUS, httpRefusal } from '../src/adapter.js'
import {
  type AuditEvent,
  AuthError,
  type Caller,
  ConfigError,
  createPipeline,
  type Decision,
  definePolicy,
  type Verifier,
} from '../src/index.js'

// Test doubles: small verifiers that stand in for the real ones, so the pipeline is tested alone.
const caller = (id: string, kind: Caller['kind'], scopes: string[], extra: Partial<Caller> = {}): Caller => ({
  id,
  kind,
  scopes: new Set(scopes),
  credentialId: `${kind}-${id}`,
  attributes: {},
  ...extra,
})

/** A verifier's answer, given as it is (`sync`) or as a promise, as an `async verify()` would. */
function answer<T>(sync: boolean, work: () => T): T | Promise<T> {
  return sync ? work() : (async () => work())()
}

/** Claims `Authorization: Bearer tok-*`: a table of good tokens; any other `tok-*` is bad. */
function bearerVerifier(tokens: Record<string, Caller>, calls: string[] = [], sync = false): Verifier {
  return {
    kind: 'jwt',
    verify: (req) =>
      answer(sync, () => {
        calls.push('jwt')
        const value = req.header('authorization')[0]
        if (!value?.startsWith('Bearer tok-')) return null
        const found = tokens[value.slice(7)]
        if (!found) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'expired' })
        return found
      }),
  }
}

/** Claims `x-api-key`: one good key. */
function headerKeyVerifier(calls: string[] = [], sync = false): Verifier {
  return {
    kind: 'api-key',
    verify: (req) =>
      answer(sync, () => {
        calls.push('api-key')
        const value = req.header('x-api-key')[0]
        if (value === undefined) return null
        if (value === 'csk_crash') throw new TypeError('boom')
        if (value !== 'csk_good') throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'unknown_key' })
        return caller('billing', 'api-key', ['orders:read'])
      }),
  }
}

/** Claims the TLS peer: the certificate fingerprint 'fp-web' is the caller 'web'. */
const certVerifier: Verifier = {
  kind: 'mtls',
  async verify(req) {
    if (!req.tls) return null
    return caller('spiffe://mesh.local/web', 'mtls', [], { credentialId: 'fp-web' })
  },
}

const policy = definePolicy({
  routes: {
    'GET /orders/:id': ['orders:read'],
    'POST /orders': ['orders:write'],
    'GET /healthz': 'public',
    '/shop.v1.Inventory/Reserve': ['inventory:reserve'],
  },
  grants: { 'spiffe://mesh.local/web': ['orders:read'] },
})

const tls = { authorized: true, peerCertificateChain: () => [], connection: {} }

function setup(extra: { verifiers?: Verifier[]; dryRun?: boolean; sync?: boolean } = {}) {
  const events: AuditEvent[] = []
  const calls: string[] = []
  const pipeline = createPipeline({
    policy,
    verifiers: extra.verifiers ?? [
      bearerVerifier(
        {
          'tok-reader': caller('gateway', 'jwt', ['orders:read']),
          'tok-admin': caller('ops', 'jwt', ['orders:admin']),
        },
        calls,
        extra.sync,
      ),
      headerKeyVerifier(calls, extra.sync),
    ],
    audit: (event) => events.push(event),
    clock: { now: () => Date.UTC(2026, 0, 2, 3, 4, 5) },
    ...(extra.dryRun ? { dryRun: true } : {}),
  })
  return { pipeline, events, calls }
}

async function refusal(decision: Decision | Promise<Decision>) {
  const result = await decision
  if (result.allowed) throw new Error('expected a refusal')
  return result.error
}

describe('createPipeline: the wire contract (DESIGN §6)', () => {
  it('allows a caller holding the required scope, and names it', async () => {
    const { pipeline } = setup()
    const decision = await pipeline.decide(request({ authorization: 'Bearer tok-reader' }))
    expect(decision).toMatchObject({ allowed: true, caller: { id: 'gateway', kind: 'jwt' } })
  })

  it('refuses no credential with 401 ERR_NO_CREDENTIAL and a bare Bearer challenge', async () => {
    const { pipeline } = setup()
    const error = await refusal(pipeline.decide(request()))
    expect(error.code).toBe('ERR_NO_CREDENTIAL')
    const http = httpRefusal(error)
    expect(http.status).toBe(401)
    expect(http.headers['www-authenticate']).toBe('Bearer realm="callsign"')
    expect(GRPC_STATUS[error.code]).toBe(16)
  })

  it('refuses a bad credential with 401 invalid_token and keeps the reason out of the response', async () => {
    const { pipeline, events } = setup()
    const error = await refusal(pipeline.decide(request({ authorization: 'Bearer tok-forged' })))
    const http = httpRefusal(error)
    expect(http.status).toBe(401)
    expect(http.headers['www-authenticate']).toBe('Bearer realm="callsign", error="invalid_token"')
    expect(JSON.stringify(http)).not.toContain('expired')
    expect(events[0]).toMatchObject({ decision: 'deny', code: 'ERR_INVALID_CREDENTIAL', reason: 'expired' })
  })

  it('refuses a missing scope with 403 insufficient_scope naming the required scopes', async () => {
    const { pipeline } = setup()
    const error = await refusal(
      pipeline.decide(request({ authorization: 'Bearer tok-reader' }, { method: 'POST', route: '/orders' })),
    )
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE')
    const http = httpRefusal(error)
    expect(http.status).toBe(403)
    expect(http.headers['www-authenticate']).toBe(
      'Bearer realm="callsign", error="insufficient_scope", scope="orders:write"',
    )
    expect(http.body).toEqual({
      status: 403,
      code: 'ERR_INSUFFICIENT_SCOPE',
      title: 'The caller does not hold a scope this route requires',
      scope: 'orders:write',
    })
    expect(GRPC_STATUS[error.code]).toBe(7)
  })

  it('compares scopes exactly: orders:admin does not satisfy orders:administrator or orders:read', async () => {
    const { pipeline } = setup()
    const error = await refusal(pipeline.decide(request({ authorization: 'Bearer tok-admin' })))
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE')
  })

  it('refuses a route that is not in the policy with 403 before any verifier runs', async () => {
    const { pipeline, calls } = setup()
    const error = await refusal(
      pipeline.decide(
        request({ authorization: 'Bearer tok-reader' }, { method: 'DELETE', route: '/orders/:id' }),
      ),
    )
    expect(error.code).toBe('ERR_ROUTE_NOT_IN_POLICY')
    expect(httpRefusal(error).status).toBe(403)
    expect(httpRefusal(error).headers['www-authenticate']).toBeUndefined()
    expect(calls).toEqual([])
  })

  it('lets a public route through without running a verifier', async () => {
    const { pipeline, calls, events } = setup()
    const decision = await pipeline.decide(request({}, { route: '/healthz' }))
    expect(decision).toMatchObject({ allowed: true, caller: null })
    expect(calls).toEqual([])
    expect(events[0]).toMatchObject({ decision: 'allow', reason: 'public' })
  })

  it('treats HEAD as the GET entry', async () => {
    const { pipeline } = setup()
    expect((await pipeline.decide(request({}, { method: 'HEAD' }))).allowed).toBe(false)
    expect(
      (await pipeline.decide(request({ authorization: 'Bearer tok-reader' }, { method: 'HEAD' }))).allowed,
    ).toBe(true)
  })

  it('decides gRPC method paths', async () => {
    const { pipeline } = setup()
    const error = await refusal(
      pipeline.decide(
        request(
          { authorization: 'Bearer tok-reader' },
          { transport: 'grpc', method: 'POST', route: '/shop.v1.Inventory/Reserve' },
        ),
      ),
    )
    expect(error.code).toBe('ERR_INSUFFICIENT_SCOPE')
  })
})

describe('createPipeline: no fall-through, no guessing', () => {
  it('stops at a bad credential: the next verifier never runs', async () => {
    const { pipeline, calls } = setup()
    const error = await refusal(
      pipeline.decide(request({ authorization: 'Bearer tok-forged', 'x-api-key': 'csk_good' })),
    )
    expect(error.code).toBe('ERR_INVALID_CREDENTIAL')
    expect(calls).toEqual(['jwt'])
  })

  it('refuses two credentials of different kinds as ambiguous (400 invalid_request)', async () => {
    const { pipeline } = setup()
    const error = await refusal(
      pipeline.decide(request({ authorization: 'Bearer tok-reader', 'x-api-key': 'csk_good' })),
    )
    expect(error.code).toBe('ERR_AMBIGUOUS_REQUEST')
    expect(httpRefusal(error).status).toBe(400)
    expect(httpRefusal(error).headers['www-authenticate']).toContain('error="invalid_request"')
    expect(GRPC_STATUS[error.code]).toBe(16)
  })

  it('refuses a repeated Authorization header as ambiguous, before any verifier runs', async () => {
    const { pipeline, calls } = setup()
    const error = await refusal(
      pipeline.decide(request({ authorization: ['Bearer tok-reader', 'Bearer tok-admin'] })),
    )
    expect(error.code).toBe('ERR_AMBIGUOUS_REQUEST')
    expect(calls).toEqual([])
  })

  it('turns a verifier that crashes into a 401 refusal with an audit event, never an allow', async () => {
    const crashing: Verifier = {
      kind: 'jwt',
      verify: async () => {
        throw new TypeError('cannot read properties of undefined (secret tok-xyz)')
      },
    }
    const { pipeline, events } = setup({ verifiers: [crashing] })
    const error = await refusal(pipeline.decide(request({ authorization: 'Bearer tok-xyz' })))
    expect(error.code).toBe('ERR_INVALID_CREDENTIAL')
    expect(error.message).not.toContain('tok-xyz')
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ decision: 'deny', reason: 'verifier_error' })
  })

  it('refuses with 401 when the request headers cannot be read, instead of throwing', async () => {
    const { pipeline } = setup()
    const broken = request(
      {},
      {
        header: () => {
          throw new TypeError('headersDistinct is undefined')
        },
      },
    )
    const error = await refusal(pipeline.decide(broken))
    expect(error).toMatchObject({ code: 'ERR_INVALID_CREDENTIAL', reason: 'verifier_error' })
  })

  it('refuses a decision whose verifier never settles once the deadline passes (verifier_timeout)', async () => {
    const hanging: Verifier = { kind: 'jwt', verify: () => new Promise(() => {}) }
    const events: AuditEvent[] = []
    const pipeline = createPipeline({
      policy,
      verifiers: [hanging],
      timeoutMs: 50,
      audit: (e) => events.push(e),
    })
    const error = await refusal(pipeline.decide(request({ authorization: 'Bearer tok-reader' })))
    expect(error).toMatchObject({ code: 'ERR_INVALID_CREDENTIAL', reason: 'verifier_timeout' })
    expect(events).toHaveLength(1)
  })

  it('refuses each of several overlapping hung decisions at its own deadline, and lets a quick one through', async () => {
    let release: (() => void) | undefined
    const verifier: Verifier = {
      kind: 'jwt',
      verify: (req) => {
        const value = req.header('authorization')[0]
        if (value === 'Bearer tok-quick') return Promise.resolve(caller('quick', 'jwt', ['orders:read']))
        if (value === 'Bearer tok-late')
          return new Promise((resolve) => (release = () => resolve(caller('late', 'jwt', ['orders:read']))))
        return new Promise(() => {})
      },
    }
    const pipeline = createPipeline({ policy, verifiers: [verifier], timeoutMs: 400 })
    const started = Date.now()
    const first = pipeline.decide(request({ authorization: 'Bearer tok-hang' }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const second = pipeline.decide(request({ authorization: 'Bearer tok-hang' }))
    const late = pipeline.decide(request({ authorization: 'Bearer tok-late' }))
    expect(await pipeline.decide(request({ authorization: 'Bearer tok-quick' }))).toMatchObject({
      allowed: true,
    })
    expect(await refusal(first)).toMatchObject({ reason: 'verifier_timeout' })
    const firstAt = Date.now() - started
    release?.()
    expect(await late).toMatchObject({ allowed: true, caller: { id: 'late' } })
    expect(await refusal(second)).toMatchObject({ reason: 'verifier_timeout' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(firstAt)
  })

  it('leaves no timer running once a decision that waited on its verifier is made', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const { pipeline } = setup()
    const before = timers()
    const decision = pipeline.decide(request({ authorization: 'Bearer tok-reader' }))
    expect(decision).toBeInstanceOf(Promise)
    expect(timers()).toBe(before + 1) // the deadline, while the verifier works
    expect(await decision).toMatchObject({ allowed: true })
    expect(timers()).toBe(before)
  })

  it('adds the callee grants to the caller of an mTLS connection', async () => {
    const { pipeline } = setup({ verifiers: [certVerifier] })
    const decision = await pipeline.decide(request({}, { tls }))
    expect(decision.allowed).toBe(true)
    if (decision.allowed) expect([...(decision.caller?.scopes ?? [])]).toEqual(['orders:read'])
  })

  it("adds a pattern grant's scopes, and refuses (401, never a 500) when a grant predicate throws", async () => {
    const patterned = createPipeline({
      policy: definePolicy({
        routes: { 'GET /orders/:id': ['orders:read'], 'POST /orders': ['orders:write'] },
        grants: [
          { to: 'spiffe://mesh.local/*', scopes: ['orders:read'] },
          {
            to: (id) => {
              if (id.endsWith('/web')) throw new Error('predicate bug')
              return false
            },
            scopes: ['orders:write'],
          },
        ],
      }),
      verifiers: [certVerifier],
    })
    const read = createPipeline({
      policy: definePolicy({
        routes: { 'GET /orders/:id': ['orders:read'] },
        grants: { 'spiffe://mesh.local/*': ['orders:read'] },
      }),
      verifiers: [certVerifier],
    })
    expect(await read.decide(request({}, { tls }))).toMatchObject({ allowed: true })
    const error = await refusal(patterned.decide(request({}, { tls })))
    expect(error).toMatchObject({ code: 'ERR_INVALID_CREDENTIAL', reason: 'verifier_error' })
  })

  it('treats a certificate-bound token and its certificate as one credential', async () => {
    const bound = caller('gateway', 'jwt', ['orders:read'], { boundCertificate: 'fp-web' })
    const { pipeline } = setup({ verifiers: [bearerVerifier({ 'tok-bound': bound }), certVerifier] })
    const decision = await pipeline.decide(request({ authorization: 'Bearer tok-bound' }, { tls }))
    expect(decision).toMatchObject({ allowed: true, caller: { id: 'gateway' } })
  })

  it('refuses a token bound to another certificate arriving with a client certificate as ambiguous', async () => {
    const other = caller('gateway', 'jwt', ['orders:read'], { boundCertificate: 'fp-other' })
    const { pipeline } = setup({ verifiers: [bearerVerifier({ 'tok-other': other }), certVerifier] })
    const error = await refusal(pipeline.decide(request({ authorization: 'Bearer tok-other' }, { tls })))
    expect(error.code).toBe('ERR_AMBIGUOUS_REQUEST')
  })
})

describe('createPipeline: verifiers that answer synchronously', () => {
  const rows: [string, Record<string, string | string[]>][] = [
    ['a caller with the scope', { authorization: 'Bearer tok-reader' }],
    ['a caller without it', { authorization: 'Bearer tok-admin' }],
    ['a bad token', { authorization: 'Bearer tok-forged' }],
    ['no credential', {}],
    ['a good API key', { 'x-api-key': 'csk_good' }],
    ['a bad API key', { 'x-api-key': 'csk_bad' }],
    ['a verifier that crashes', { 'x-api-key': 'csk_crash' }],
    ['two credentials', { authorization: 'Bearer tok-reader', 'x-api-key': 'csk_good' }],
    ['Authorization twice', { authorization: ['Bearer tok-reader', 'Bearer tok-admin'] }],
  ]

  it.each(rows)('decides %s in the same tick, as it would with async verifiers', async (_, headers) => {
    const sync = setup({ sync: true })
    const later = setup()
    const now = sync.pipeline.decide(request(headers))
    expect(now).not.toBeInstanceOf(Promise)
    expect(sync.events).toHaveLength(1) // audited before decide() returned
    const awaited = await later.pipeline.decide(request(headers))
    expect(awaited).toBeDefined()
    const { error: nowError, ...nowRest } = now as Decision & { error?: AuthError }
    const { error: laterError, ...laterRest } = awaited as Decision & { error?: AuthError }
    expect(nowRest).toEqual(laterRest)
    expect(nowError?.code).toBe(laterError?.code)
    expect(nowError?.reason).toBe(laterError?.reason)
    expect(sync.calls).toEqual(later.calls)
    const { latencyMs: _a, ...nowEvent } = sync.events[0]!
    const { latencyMs: _b, ...laterEvent } = later.events[0]!
    expect(nowEvent).toEqual(laterEvent)
  })

  it('goes on in order after a synchronous verifier when the next one is asynchronous, and still sees both credentials', async () => {
    const calls: string[] = []
    const pipeline = createPipeline({
      policy,
      verifiers: [
        bearerVerifier({ 'tok-reader': caller('gateway', 'jwt', ['orders:read']) }, calls, true),
        headerKeyVerifier(calls, false),
      ],
    })
    const alone = pipeline.decide(request({ 'x-api-key': 'csk_good' }))
    expect(alone).toBeInstanceOf(Promise)
    expect(await alone).toMatchObject({ allowed: true, caller: { id: 'billing' } })
    const both = pipeline.decide(request({ authorization: 'Bearer tok-reader', 'x-api-key': 'csk_good' }))
    expect((await refusal(both)).reason).toBe('several_credentials')
    expect(calls).toEqual(['jwt', 'api-key', 'jwt', 'api-key'])
  })

  it('stops at a synchronous throw: the next verifier never runs', () => {
    const { pipeline, calls } = setup({ sync: true })
    const decision = pipeline.decide(request({ authorization: 'Bearer tok-forged', 'x-api-key': 'csk_good' }))
    expect(decision).toMatchObject({
      allowed: false,
      error: { code: 'ERR_INVALID_CREDENTIAL', reason: 'expired' },
    })
    expect(calls).toEqual(['jwt'])
  })
})

describe('createPipeline: audit', () => {
  it('emits exactly one event per decision, with the fields of DESIGN §8 and no secret', async () => {
    const { pipeline, events } = setup()
    await pipeline.decide(request({ authorization: 'Bearer tok-reader' }))
    await pipeline.decide(request({ 'x-api-key': 'csk_wrong-secret-value' }))
    await pipeline.decide(request({}, { route: '/healthz' }))
    expect(events).toHaveLength(3)
    expect(events[0]).toMatchObject({
      v: 1,
      time: '2026-01-02T03:04:05.000Z',
      decision: 'allow',
      reason: 'granted',
      caller: 'gateway',
      kind: 'jwt',
      credentialId: 'jwt-gateway',
      scopes: ['orders:read'],
      transport: 'http',
      method: 'GET',
      route: '/orders/:id',
      remoteAddress: '127.0.0.1',
    })
    expect(typeof events[0]?.latencyMs).toBe('number')
    expect(events[1]).toMatchObject({
      decision: 'deny',
      code: 'ERR_INVALID_CREDENTIAL',
      reason: 'unknown_key',
    })
    const written = JSON.stringify(events)
    expect(written).not.toContain('tok-reader')
    expect(written).not.toContain('wrong-secret')
  })

  it('records a reason that is not a plain code as unspecified, so no text can smuggle a secret', () => {
    expect(
      new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'key csk_abc is revoked' as never }).reason,
    ).toBe('unspecified')
    expect(new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'revoked' }).reason).toBe('revoked')
  })

  it('keeps deciding when an audit sink throws', async () => {
    const pipeline = createPipeline({
      policy,
      verifiers: [headerKeyVerifier()],
      audit: () => {
        throw new Error('disk full')
      },
    })
    expect((await pipeline.decide(request({ 'x-api-key': 'csk_good' }))).allowed).toBe(true)
  })

  it('in dry-run mode lets a refusal through and audits it as would-deny', async () => {
    const { pipeline, events } = setup({ dryRun: true })
    const decision = await pipeline.decide(request())
    expect(decision.allowed).toBe(true)
    expect(events[0]).toMatchObject({ decision: 'would-deny', code: 'ERR_NO_CREDENTIAL' })
  })
})

describe('createPipeline: verifiers that break their contract', () => {
  const broken = [
    ['a string', 'billing'],
    ['an object without scopes', { id: 'billing', kind: 'api-key', credentialId: 'k', attributes: {} }],
    ['an unknown kind', { ...caller('billing', 'api-key', []), kind: 'password' }],
    ['an empty id', caller('', 'api-key', [])],
    ['a number', 42],
  ] as const
  for (const sync of [true, false]) {
    for (const [what, value] of broken) {
      it(`refuses ${what} from a${sync ? ' synchronous' : 'n asynchronous'} verifier with 401 and one audit event (verifier_error)`, async () => {
        const events: AuditEvent[] = []
        const pipeline = createPipeline({
          policy,
          verifiers: [{ kind: 'api-key', verify: () => answer(sync, () => value as unknown as Caller) }],
          audit: (event) => events.push(event),
        })
        const error = await refusal(pipeline.decide(request()))
        expect(error.code).toBe('ERR_INVALID_CREDENTIAL')
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({
          decision: 'deny',
          code: 'ERR_INVALID_CREDENTIAL',
          reason: 'verifier_error',
        })
      })
    }
  }

  it('refuses with an audit event when the policy itself throws, instead of throwing', () => {
    const events: AuditEvent[] = []
    const failing = {
      get current(): never {
        throw new Error('policy watcher broke')
      },
    }
    const pipeline = createPipeline({
      policy: failing as never,
      verifiers: [headerKeyVerifier()],
      audit: (event) => events.push(event),
    })
    const decision = pipeline.decide(request())
    expect(decision).toMatchObject({ allowed: false, error: { code: 'ERR_INVALID_CREDENTIAL' } })
    expect(events).toMatchObject([{ decision: 'deny', reason: 'verifier_error' }])
  })
})

describe('pipeline.authorize: a further requirement inside an allowed route', () => {
  const reader = caller('gateway', 'jwt', ['orders:read'])
  const req = request({}, { method: 'DELETE', route: '/orders/:id' })

  it('allows a caller holding every scope and records the scopes it used', () => {
    const { pipeline, events } = setup()
    expect(pipeline.authorize(req, reader, ['orders:read'])).toMatchObject({ allowed: true, caller: reader })
    expect(events).toMatchObject([
      { decision: 'allow', reason: 'granted', caller: 'gateway', scopes: ['orders:read'], method: 'DELETE' },
    ])
  })

  it('refuses a missing scope with 403 ERR_INSUFFICIENT_SCOPE and a deny event naming the scopes', () => {
    const { pipeline, events } = setup()
    const decision = pipeline.authorize(req, reader, ['orders:read', 'orders:admin'])
    expect(decision).toMatchObject({ allowed: false, error: { code: 'ERR_INSUFFICIENT_SCOPE' } })
    expect(decision.allowed ? [] : decision.error.requiredScopes).toEqual(['orders:read', 'orders:admin'])
    expect(events).toMatchObject([
      { decision: 'deny', code: 'ERR_INSUFFICIENT_SCOPE', reason: 'scope_missing', caller: 'gateway' },
    ])
  })

  it('refuses a request without a verified caller with 401 ERR_NO_CREDENTIAL (reason no_caller)', () => {
    const { pipeline, events } = setup()
    expect(pipeline.authorize(req, null, ['orders:read'])).toMatchObject({
      allowed: false,
      error: { code: 'ERR_NO_CREDENTIAL', reason: 'no_caller' },
    })
    expect(events).toMatchObject([{ decision: 'deny', reason: 'no_caller' }])
  })

  it('in dry-run mode lets the refusal through and records it as would-deny', () => {
    const { pipeline, events } = setup({ dryRun: true })
    expect(pipeline.authorize(req, reader, ['orders:admin']).allowed).toBe(true)
    expect(events).toMatchObject([{ decision: 'would-deny', code: 'ERR_INSUFFICIENT_SCOPE' }])
  })
})

describe('pipeline.refuse: a refusal an adapter reached itself', () => {
  it('records one deny event with the code and reason, and refuses', () => {
    const { pipeline, events } = setup()
    const error = new AuthError('ERR_NO_CREDENTIAL', { reason: 'plaintext_not_allowed' })
    expect(pipeline.refuse(request(), error)).toEqual({ allowed: false, error })
    expect(events).toMatchObject([
      { decision: 'deny', code: 'ERR_NO_CREDENTIAL', reason: 'plaintext_not_allowed' },
    ])
  })

  it('in dry-run mode lets it through as would-deny', () => {
    const { pipeline, events } = setup({ dryRun: true })
    const error = new AuthError('ERR_ROUTE_NOT_IN_POLICY', { reason: 'route_unknown' })
    expect(pipeline.refuse(request(), error).allowed).toBe(true)
    expect(events).toMatchObject([{ decision: 'would-deny', reason: 'route_unknown' }])
  })
})

describe('createPipeline: options', () => {
  it.each([
    [{ policy, verifiers: [] }, 'at least one verifier'],
    [{ policy, verifiers: [certVerifier, certVerifier] }, 'two verifiers of kind "mtls"'],
    [{ policy: {}, verifiers: [certVerifier] }, '"policy" must be'],
    [{ policy, verifiers: [certVerifier], realm: 'a"b' }, '"realm" is not a valid realm'],
    [{ policy, verifiers: [certVerifier], timeoutMs: 0 }, '"timeoutMs" must be an integer'],
  ])('rejects invalid options at startup (%#)', (options, message) => {
    expect(() => createPipeline(options as never)).toThrow(ConfigError)
    expect(() => createPipeline(options as never)).toThrow(message)
  })

  it('needs no verifier for a fixed policy whose every route is public, and still one for a watcher', async () => {
    const open = definePolicy({ routes: { 'GET /healthz': 'public', 'POST /oauth2/token': 'public' } })
    const pipeline = createPipeline({ policy: open, verifiers: [] })
    expect(await pipeline.decide(request({}, { route: '/healthz' }))).toMatchObject({
      allowed: true,
      caller: null,
    })
    expect(await pipeline.decide(request({}, { route: '/other' }))).toMatchObject({
      allowed: false,
      error: { code: 'ERR_ROUTE_NOT_IN_POLICY' },
    })
    expect(() => createPipeline({ policy: { current: open }, verifiers: [] })).toThrow(
      'at least one verifier',
    )
  })
})
