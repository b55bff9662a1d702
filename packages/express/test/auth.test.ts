import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AuditEvent, ConfigError, createPipeline, definePolicy } from '@callsign/core'
import express, { type Express } from 'express'
import request from 'supertest'
import { afterEach, describe, expect, it } from 'vitest'
import { tableVerifiers } from '../../../test/adapters/support/test-verifiers.js'
import { auth, getCaller, requireScopes } from '../src/index.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))))
})

async function listen(app: Express): Promise<Server> {
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  expect((server.address() as AddressInfo).address).toBe('127.0.0.1')
  return server
}

const routes = {
  'GET /orders/:id': ['orders:read'],
  'POST /orders': ['orders:write'],
  'DELETE /orders/:id': ['orders:write'],
  'POST /orders/:id': ['orders:read'],
  'GET /healthz': 'public',
  'GET /api/v1/reports': ['orders:write'],
} as const

/** An app with a method-override middleware and an app-wide body parser in front of the routes. */
function buildApp(reached: string[]) {
  const app = express()
  app.use(function methodOverride(req, _res, next) {
    const override = req.headers['x-http-method-override']
    if (req.method === 'POST' && typeof override === 'string') req.method = override.toUpperCase()
    next()
  })
  app.use(express.json())
  app.get('/orders/:id', (req, res) => {
    reached.push(`GET /orders/${req.params.id}`)
    res.json({ caller: getCaller(req).id })
  })
  app.post('/orders', (req, res) => {
    reached.push('POST /orders')
    res.status(201).json({ body: req.body })
  })
  app.post('/orders/:id', (_req, res) => {
    reached.push('POST /orders/:id')
    res.sendStatus(204)
  })
  app.delete('/orders/:id', (_req, res) => {
    reached.push('DELETE /orders/:id')
    res.sendStatus(204)
  })
  app.get('/healthz', (req, res) => {
    reached.push('GET /healthz')
    res.json({ caller: req.caller })
  })
  const reports = express.Router()
  reports.get('/reports', (_req, res) => {
    reached.push('GET /api/v1/reports')
    res.json({ ok: true })
  })
  app.use('/api/v1', reports)
  return app
}

async function guarded(extra: Partial<Parameters<typeof auth>[1]> = {}) {
  const reached: string[] = []
  const events: AuditEvent[] = []
  const app = buildApp(reached)
  auth(app, {
    policy: definePolicy({ routes }),
    verifiers: tableVerifiers(),
    audit: (e) => events.push(e),
    ...extra,
  })
  const server = await listen(app)
  return { app, server, reached, events }
}

describe('@callsign/express auth(app)', () => {
  it('lets a reader through to GET /orders/:id and exposes req.caller and getCaller(req)', async () => {
    const { server, reached, events } = await guarded()
    const res = await request(server).get('/orders/7').set('authorization', 'Bearer valid-reader')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ caller: 'svc-reader' })
    expect(reached).toEqual(['GET /orders/7'])
    expect(events.map((e) => [e.decision, e.route])).toEqual([['allow', '/orders/:id']])
  })

  it('refuses a request without credential with 401, a Bearer challenge and ERR_NO_CREDENTIAL', async () => {
    const { server, reached } = await guarded()
    const res = await request(server).get('/orders/7')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="callsign"')
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(res.text)).toMatchObject({ status: 401, code: 'ERR_NO_CREDENTIAL' })
    expect(reached).toEqual([])
  })

  it('refuses a missing scope with 403 insufficient_scope naming the scope (ERR_INSUFFICIENT_SCOPE)', async () => {
    const { server } = await guarded()
    const res = await request(server)
      .post('/orders')
      .set('authorization', 'Bearer valid-reader')
      .send({ a: 1 })
    expect(res.status).toBe(403)
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="callsign", error="insufficient_scope", scope="orders:write"',
    )
    expect(JSON.parse(res.text)).toMatchObject({ code: 'ERR_INSUFFICIENT_SCOPE', scope: 'orders:write' })
  })

  it('serves a public route without credential and leaves req.caller null', async () => {
    const { server } = await guarded()
    const res = await request(server).get('/healthz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ caller: null })
  })

  it('keeps unmatched paths the framework 404', async () => {
    const { server, events } = await guarded()
    expect((await request(server).get('/nowhere')).status).toBe(404)
    expect(events).toEqual([])
  })

  it('turns a crashing verifier into 401 ERR_INVALID_CREDENTIAL with an audit event (reason verifier_error)', async () => {
    const { server, events, reached } = await guarded()
    const res = await request(server).get('/orders/1').set('authorization', 'Bearer crash')
    expect(res.status).toBe(401)
    expect(res.text).not.toContain('crash')
    expect(events).toMatchObject([
      { decision: 'deny', code: 'ERR_INVALID_CREDENTIAL', reason: 'verifier_error' },
    ])
    expect(reached).toEqual([])
  })

  it('refuses before an app-wide body parser reads the body (malformed JSON still gets 401, not 400)', async () => {
    const { server, reached } = await guarded()
    const res = await request(server)
      .post('/orders')
      .set('content-type', 'application/json')
      .send('{"broken":')
    expect(res.status).toBe(401)
    expect(JSON.parse(res.text).code).toBe('ERR_NO_CREDENTIAL')
    expect(reached).toEqual([])
  })

  it('uses the prefix of a mounted router in the route key (GET /api/v1/reports needs orders:write)', async () => {
    const { server, events } = await guarded()
    const res = await request(server).get('/api/v1/reports').set('authorization', 'Bearer valid-reader')
    expect(res.status).toBe(403)
    expect(events[0]).toMatchObject({ route: '/api/v1/reports', code: 'ERR_INSUFFICIENT_SCOPE' })
    const ok = await request(server).get('/api/v1/reports').set('authorization', 'Bearer valid-writer')
    expect(ok.status).toBe(200)
  })
})

describe('@callsign/express path-variant bypass table', () => {
  // A reader holds orders:read only. None of these may reach a handler that needs orders:write,
  // and none may reach any handler without a credential.
  const anonymous: [string, string, number][] = [
    ['GET', '/ORDERS/7', 401],
    ['GET', '/orders/7/', 401],
    ['GET', '/Orders/7/', 401],
    ['HEAD', '/orders/7', 401],
    ['GET', '/orders/%37', 401],
    ['GET', '/orders/7;x=1', 401],
    ['GET', '/API/V1/REPORTS', 401],
    ['GET', '/api/v1/reports/', 401],
    ['GET', '//orders/7', 404],
    ['GET', '/orders//7', 404],
    ['GET', '/%6Frders/7', 404],
    ['GET', '/api/v1//reports', 404],
    ['GET', '/orders/%E0%A4%A', 400],
  ]
  for (const [method, path, status] of anonymous) {
    it(`answers anonymous ${method} ${path} with ${status} and never reaches a handler`, async () => {
      const { server, reached } = await guarded()
      const res = await request(server)[method === 'HEAD' ? 'head' : 'get'](path)
      expect(res.status).toBe(status)
      expect(reached).toEqual([])
    })
  }

  const reader: [string, string, Record<string, string>, number][] = [
    ['POST', '/orders/7', { 'x-http-method-override': 'DELETE' }, 403],
    ['POST', '/ORDERS/7/', { 'x-http-method-override': 'delete' }, 403],
    ['POST', '/orders/', {}, 403],
    ['POST', '/Orders', {}, 403],
    ['GET', '/Api/V1/Reports/', {}, 403],
  ]
  for (const [method, path, headers, status] of reader) {
    it(`answers a reader's ${method} ${path} ${JSON.stringify(headers)} with ${status} ERR_INSUFFICIENT_SCOPE`, async () => {
      const { server, reached } = await guarded()
      const res = await request(server)
        [method === 'POST' ? 'post' : 'get'](path)
        .set({ authorization: 'Bearer valid-reader', ...headers })
      expect(res.status).toBe(status)
      expect(JSON.parse(res.text).code).toBe('ERR_INSUFFICIENT_SCOPE')
      expect(reached).toEqual([])
    })
  }

  it('re-decides after a method override: a reader POST to /orders/7 passes, overridden to DELETE does not', async () => {
    const { server, reached, events } = await guarded()
    expect((await request(server).post('/orders/7').set('authorization', 'Bearer valid-reader')).status).toBe(
      204,
    )
    const res = await request(server)
      .post('/orders/7')
      .set({ authorization: 'Bearer valid-reader', 'x-http-method-override': 'DELETE' })
    expect(res.status).toBe(403)
    expect(reached).toEqual(['POST /orders/:id'])
    expect(events.at(-1)).toMatchObject({ method: 'DELETE', route: '/orders/:id', decision: 'deny' })
  })
})

describe('@callsign/express routers mounted twice and URL rewrites', () => {
  async function twice() {
    const reached: string[] = []
    const app = express()
    app.use(function rewrite(req, _res, next) {
      const target = req.headers['x-rewrite']
      if (typeof target === 'string') req.url = target
      next()
    })
    const shared = express.Router()
    shared.get('/x', (req, res) => {
      reached.push(`${req.baseUrl}/x`)
      res.json({ caller: req.caller?.id ?? null })
    })
    app.use('/public', shared)
    app.use('/admin', shared)
    const policy = definePolicy({ routes: { 'GET /public/x': 'public', 'GET /admin/x': ['orders:write'] } })
    auth(app, { policy, verifiers: tableVerifiers() })
    return { server: await listen(app), reached }
  }

  it('tells the two mounts of one router apart: /public/x is open, /admin/x needs orders:write', async () => {
    const { server, reached } = await twice()
    expect((await request(server).get('/public/x')).status).toBe(200)
    expect((await request(server).get('/admin/x')).status).toBe(401)
    expect((await request(server).get('/ADMIN/x/')).status).toBe(401)
    const reader = await request(server).get('/Admin/x').set('authorization', 'Bearer valid-reader')
    expect(reader.status).toBe(403)
    expect(reached).toEqual(['/public/x'])
  })

  it('re-decides when a middleware rewrites /public/x to /admin/x after the app gate (401, handler not reached)', async () => {
    const { server, reached } = await twice()
    const res = await request(server).get('/public/x').set('x-rewrite', '/admin/x')
    expect(res.status).toBe(401)
    expect(JSON.parse(res.text).code).toBe('ERR_NO_CREDENTIAL')
    expect(reached).toEqual([])
  })
})

describe('@callsign/express startup coverage', () => {
  it('throws a ConfigError naming every route without a policy entry', () => {
    const app = buildApp([])
    app.put('/orders/:id', (_req, res) => res.end())
    const policy = definePolicy({ routes: { ...routes } })
    expect(() => auth(app, { policy, verifiers: tableVerifiers() })).toThrow(ConfigError)
    expect(() =>
      auth(
        buildApp([]).put('/x', () => {}),
        { policy, verifiers: tableVerifiers() },
      ),
    ).toThrow(/PUT \/x/)
  })

  it('reports unused entries and, in report-only mode, missing ones instead of throwing', async () => {
    const reports: unknown[] = []
    const app = buildApp([]).put('/x', (_req, res) => res.end())
    const policy = definePolicy({ routes: { ...routes, 'GET /gone': 'public' } })
    auth(app, { policy, verifiers: tableVerifiers(), reportOnly: true, onReport: (r) => reports.push(r) })
    expect(reports).toEqual([{ missing: ['PUT /x'], unused: ['GET /gone'] }])
    const server = await listen(app)
    const res = await request(server).put('/x').set('authorization', 'Bearer valid-writer')
    expect(res.status).toBe(403)
    expect(JSON.parse(res.text).code).toBe('ERR_ROUTE_NOT_IN_POLICY')
  })

  it('refuses bad options eagerly with a ConfigError naming the option', () => {
    const policy = definePolicy({ routes })
    expect(() => auth(buildApp([]), { policy, verifiers: [] })).toThrow(/verifiers/)
    expect(() =>
      auth(buildApp([]), { policy, verifiers: tableVerifiers(), reportOnly: 'yes' as never }),
    ).toThrow(/reportOnly/)
    expect(() => auth({} as never, { policy, verifiers: tableVerifiers() })).toThrow(/app/)
    const pipeline = createPipeline({ policy, verifiers: tableVerifiers() })
    expect(() => auth(buildApp([]), { pipeline, policy } as never)).toThrow(/pipeline/)
    const app = buildApp([])
    auth(app, { pipeline })
    expect(() => auth(app, { pipeline })).toThrow(/already/)
  })

  it('refuses to guard an app with a mounted Express sub-app it cannot see into', () => {
    const app = buildApp([])
    app.use('/legacy', express())
    // router 2.3 and later tell the mount path (named in the message); router 2.2 does not
    expect(() => auth(app, { policy: definePolicy({ routes }), verifiers: tableVerifiers() })).toThrow(
      /an Express app is mounted (at \/legacy|at a path).*express\.Router\(\)/,
    )
  })

  it('guards a route added after auth() and still denies it when the policy lacks it', async () => {
    const reached: string[] = []
    const app = buildApp(reached)
    auth(app, { policy: definePolicy({ routes }), verifiers: tableVerifiers() })
    app.get('/late', (_req, res) => {
      reached.push('late')
      res.end()
    })
    const server = await listen(app)
    const res = await request(server).get('/late').set('authorization', 'Bearer valid-writer')
    expect(res.status).toBe(403)
    expect(reached).toEqual([])
  })
})

describe('@callsign/express requireScopes', () => {
  it('adds a per-handler requirement with the same 403 contract', async () => {
    const app = express()
    app.get('/orders/:id', requireScopes('orders:write'), (_req, res) => res.json({ ok: true }))
    auth(app, {
      policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
      verifiers: tableVerifiers(),
    })
    const server = await listen(app)
    const res = await request(server).get('/orders/1').set('authorization', 'Bearer valid-reader')
    expect(res.status).toBe(403)
    expect(res.headers['www-authenticate']).toContain('scope="orders:write"')
    expect((await request(server).get('/orders/1').set('authorization', 'Bearer valid-writer')).status).toBe(
      200,
    )
  })

  it('rejects a malformed scope at startup with a ConfigError', () => {
    expect(() => requireScopes('orders')).toThrow(ConfigError)
    expect(() => requireScopes()).toThrow(ConfigError)
  })
})
