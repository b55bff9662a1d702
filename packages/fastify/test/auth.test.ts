import { type AuditEvent, ConfigError, definePolicy } from '@callsign/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { tableVerifiers } from '../../../test/adapters/support/test-verifiers.js'
import { type AuthOptions, auth, getCaller, requireScopes } from '../src/index.js'

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

const routes = {
  'GET /orders/:id': ['orders:read'],
  'POST /orders': ['orders:write'],
  'DELETE /orders/:id': ['orders:write'],
  'GET /healthz': 'public',
  'GET /api/v1/reports': ['orders:write'],
} as const

async function guarded(options: Partial<AuthOptions> = {}, extra?: (app: FastifyInstance) => void) {
  const reached: string[] = []
  const events: AuditEvent[] = []
  const app = Fastify()
  apps.push(app)
  await app.register(auth, {
    policy: definePolicy({ routes }),
    verifiers: tableVerifiers(),
    audit: (event: AuditEvent) => events.push(event),
    ...options,
  } as AuthOptions)
  app.get('/orders/:id', async (request) => {
    reached.push('GET /orders/:id')
    return { caller: getCaller(request).id }
  })
  app.post('/orders', async (request) => {
    reached.push('POST /orders')
    return { body: request.body }
  })
  app.delete('/orders/:id', async () => {
    reached.push('DELETE /orders/:id')
    return { deleted: true }
  })
  app.get('/healthz', async (request) => {
    reached.push('GET /healthz')
    return { caller: request.caller }
  })
  await app.register(
    async (child) => {
      child.get('/reports', async () => {
        reached.push('GET /api/v1/reports')
        return { ok: true }
      })
    },
    { prefix: '/api/v1' },
  )
  extra?.(app)
  await app.ready()
  return { app, reached, events }
}

describe('@callsign/fastify auth plugin', () => {
  it('lets a reader through to GET /orders/:id and exposes request.caller and getCaller(request)', async () => {
    const { app, reached, events } = await guarded()
    const res = await app.inject({ url: '/orders/7', headers: { authorization: 'Bearer valid-reader' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ caller: 'svc-reader' })
    expect(reached).toEqual(['GET /orders/:id'])
    expect(events.map((e) => [e.decision, e.route])).toEqual([['allow', '/orders/:id']])
  })

  it('refuses a request without credential with 401, a Bearer challenge and ERR_NO_CREDENTIAL', async () => {
    const { app, reached } = await guarded()
    const res = await app.inject({ url: '/orders/7' })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="callsign"')
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ status: 401, code: 'ERR_NO_CREDENTIAL' })
    expect(reached).toEqual([])
  })

  it('refuses before the body is parsed (malformed JSON without credential gets 401, not 400)', async () => {
    const { app, reached } = await guarded()
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/json' },
      payload: '{"broken":',
    })
    expect(res.statusCode).toBe(401)
    expect(reached).toEqual([])
  })

  it('uses the plugin prefix in the route key (GET /api/v1/reports needs orders:write)', async () => {
    const { app, events } = await guarded()
    const res = await app.inject({
      url: '/api/v1/reports',
      headers: { authorization: 'Bearer valid-reader' },
    })
    expect(res.statusCode).toBe(403)
    expect(events[0]).toMatchObject({ route: '/api/v1/reports', code: 'ERR_INSUFFICIENT_SCOPE' })
  })

  it('serves a public route without credential and leaves request.caller null', async () => {
    const { app } = await guarded()
    const res = await app.inject({ url: '/healthz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ caller: null })
  })

  it('turns a crashing verifier into 401 ERR_INVALID_CREDENTIAL with an audit event (reason verifier_error)', async () => {
    const { app, events } = await guarded()
    const res = await app.inject({ url: '/orders/1', headers: { authorization: 'Bearer crash' } })
    expect(res.statusCode).toBe(401)
    expect(res.body).not.toContain('crash')
    expect(events).toMatchObject([{ decision: 'deny', reason: 'verifier_error' }])
  })

  it('keeps unmatched paths the framework 404 without an audit event', async () => {
    const { app, events } = await guarded()
    expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(404)
    expect(events).toEqual([])
  })

  it('serves over a real listening server on 127.0.0.1', async () => {
    const { app } = await guarded()
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const res = await fetch(`${address}/orders/3`, { headers: { authorization: 'Bearer valid-reader' } })
    expect(res.status).toBe(200)
    expect((await fetch(`${address}/orders/3`)).status).toBe(401)
  })
})

describe('@callsign/fastify path-variant bypass table', () => {
  const anonymous: [string, string, number][] = [
    ['GET', '/ORDERS/7', 404],
    ['GET', '/orders/7/', 404],
    ['HEAD', '/orders/7', 401],
    ['GET', '/orders/%37', 401],
    ['GET', '/orders/7;x=1', 401],
    ['GET', '/API/V1/REPORTS', 404],
    ['GET', '/api/v1/reports/', 404],
    ['GET', '//orders/7', 404],
    ['GET', '/orders//7', 404],
    ['GET', '/%6Frders/7', 401],
    ['GET', '/api/v1//reports', 404],
    ['GET', '/orders/%E0%A4%A', 400],
  ]
  for (const [method, url, status] of anonymous) {
    it(`answers anonymous ${method} ${url} with ${status} and never reaches a handler`, async () => {
      const { app, reached } = await guarded()
      const res = await app.inject({ method: method as 'GET', url })
      expect(res.statusCode).toBe(status)
      expect(reached).toEqual([])
    })
  }

  const reader: [string, string, Record<string, string>][] = [
    ['POST', '/orders', { 'x-http-method-override': 'DELETE' }],
    ['DELETE', '/orders/7', {}],
    ['GET', '/api/v1/reports', {}],
    ['GET', '/api/v1/%72eports', {}],
  ]
  for (const [method, url, headers] of reader) {
    it(`answers a reader's ${method} ${url} ${JSON.stringify(headers)} with 403 ERR_INSUFFICIENT_SCOPE`, async () => {
      const { app, reached } = await guarded()
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: 'Bearer valid-reader', ...headers },
      })
      expect(res.statusCode).toBe(403)
      expect(res.json().code).toBe('ERR_INSUFFICIENT_SCOPE')
      expect(reached).toEqual([])
    })
  }
})

describe('@callsign/fastify startup coverage', () => {
  it('fails ready() with a ConfigError naming every route without a policy entry', async () => {
    const attempt = guarded({}, (app) => app.put('/orders/:id', async () => 'x'))
    await expect(attempt).rejects.toThrow(ConfigError)
    await expect(guarded({}, (app) => app.put('/x', async () => 'x'))).rejects.toThrow(/PUT \/x/)
  })

  it('reports unused entries and, in report-only mode, missing ones instead of failing', async () => {
    const reports: unknown[] = []
    const { app } = await guarded(
      {
        policy: definePolicy({ routes: { ...routes, 'GET /gone': 'public' } }),
        reportOnly: true,
        onReport: (report) => reports.push(report),
      },
      (a) => a.put('/x', async () => 'x'),
    )
    expect(reports).toEqual([{ missing: ['PUT /x'], unused: ['GET /gone'] }])
    const res = await app.inject({
      method: 'PUT',
      url: '/x',
      headers: { authorization: 'Bearer valid-writer' },
    })
    expect(res.statusCode).toBe(403)
    expect(res.json().code).toBe('ERR_ROUTE_NOT_IN_POLICY')
  })

  it('still decides a route registered before the plugin (deny by default, 403 ERR_ROUTE_NOT_IN_POLICY)', async () => {
    const app = Fastify()
    apps.push(app)
    let reached = false
    app.get('/early', async () => {
      reached = true
      return 'early'
    })
    await app.register(auth, {
      policy: definePolicy({ routes }),
      verifiers: tableVerifiers(),
      reportOnly: true,
      onReport: () => {},
    })
    await app.ready()
    const res = await app.inject({ url: '/early', headers: { authorization: 'Bearer valid-writer' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().code).toBe('ERR_ROUTE_NOT_IN_POLICY')
    expect(reached).toBe(false)
  })

  it('refuses bad options at registration with a ConfigError naming the option', async () => {
    const app = Fastify()
    apps.push(app)
    app.register(auth, { policy: definePolicy({ routes }), verifiers: [] })
    await expect(app.ready()).rejects.toThrow(/verifiers/)
  })
})

describe('@callsign/fastify requireScopes', () => {
  it('adds a per-route requirement with the same 403 contract', async () => {
    const { app } = await guarded(
      { policy: definePolicy({ routes: { ...routes, 'GET /admin': ['orders:read'] } }) },
      (a) => a.get('/admin', { onRequest: requireScopes('orders:write') }, async () => ({ ok: true })),
    )
    const res = await app.inject({ url: '/admin', headers: { authorization: 'Bearer valid-reader' } })
    expect(res.statusCode).toBe(403)
    expect(res.headers['www-authenticate']).toContain('scope="orders:write"')
    const ok = await app.inject({ url: '/admin', headers: { authorization: 'Bearer valid-writer' } })
    expect(ok.statusCode).toBe(200)
  })

  it('rejects a malformed scope at startup with a ConfigError', () => {
    expect(() => requireScopes('orders')).toThrow(ConfigError)
  })
})
