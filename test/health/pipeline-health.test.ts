import { mkdtempSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPipeline, definePolicy, jsonLinesAuditSink, type Pipeline } from '@callsign/core'
import { auth } from '@callsign/express'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { es256Pair, jwksServer, jwksVerifier } from '../../packages/jwt/test/support.js'
import { inMemoryMetrics } from '../support/in-memory-metrics.js'

// pipeline.health() over a real JWKS server on 127.0.0.1 that fails and recovers, a real audit
// file, and the readiness endpoint the Express README documents, served over real HTTP. The key
// set's age is moved with a manual clock (no timing in the test).
const meter = inMemoryMetrics()

const jwks = await jwksServer({ keys: [es256Pair('k1').jwk] })
const { verifier, clock } = jwksVerifier(jwks, {
  keyCache: { maxAge: 60, staleIfError: 120, unknownKidCooldown: 1 },
})
const audit = jsonLinesAuditSink(join(mkdtempSync(join(tmpdir(), 'callsign-health-')), 'audit.jsonl'))
const pipeline: Pipeline = createPipeline({
  policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'], 'GET /readyz': 'public' } }),
  verifiers: [verifier],
  audit,
})

// The readiness endpoint, as documented: public in the policy, 503 while anything is failing.
const app = express()
app.get('/orders/:id', (_req, res) => res.json({}))
app.get('/readyz', (_req, res) => {
  const health = pipeline.health()
  res.status(health.status === 'failing' ? 503 : 200).json(health)
})
auth(app, { pipeline })
let server: Server
let base = ''
beforeAll(async () => {
  server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await jwks.close()
  await audit.close()
  await meter.shutdown()
})

async function readiness() {
  const res = await fetch(`${base}/readyz`)
  const body = (await res.json()) as {
    status: string
    components: Record<string, { status: string; state?: string; issuers?: { lastError: string | null }[] }>
  }
  return { http: res.status, status: body.status, jwt: body.components['verifier:jwt']!, body }
}

async function fetchPoints() {
  return {
    fetches: await meter.points('callsign.jwks.fetches'),
    age: await meter.points('callsign.jwks.age'),
  }
}

const total = (points: { value: unknown }[]) =>
  points.reduce((sum, point) => sum + (point.value as number), 0)

describe('pipeline.health() with a JWKS endpoint that fails and recovers', () => {
  it('is failing (503) before the first fetch, with the verifier and the audit sink reported', async () => {
    const ready = await readiness()
    expect(ready).toMatchObject({
      http: 503,
      status: 'failing',
      jwt: { status: 'failing', state: 'failing' },
    })
    expect(ready.body.components['audit:0']).toMatchObject({ status: 'ok', state: 'ok', dropped: 0 })
  })

  it('is ok (200) once the key set is fetched, and counts the initial fetch', async () => {
    await verifier.warmUp()
    expect(await readiness()).toMatchObject({
      http: 200,
      status: 'ok',
      jwt: { status: 'ok', state: 'fresh' },
    })
    const { fetches, age } = await fetchPoints()
    // The verifier starts fetching when it is made; warmUp() fetches (or joins a fetch) again.
    expect(fetches.find((point) => point.attributes['callsign.jwks.trigger'] === 'initial')).toEqual(
      expect.objectContaining({
        attributes: {
          'callsign.jwt.issuer': jwks.issuer,
          'callsign.jwks.trigger': 'initial',
          'callsign.jwks.outcome': 'success',
        },
        value: 1,
      }),
    )
    expect(total(fetches), 'one count per request the JWKS server saw').toBe(jwks.state.jwksRequests)
    expect(age.map((point) => point.value)).toEqual([0])
  })

  it('is degraded but ready (200) while the endpoint fails within the stale bound', async () => {
    jwks.state.mode = 'status500'
    clock.advance(61)
    await verifier.warmUp()
    const ready = await readiness()
    expect(ready).toMatchObject({
      http: 200,
      status: 'degraded',
      jwt: { status: 'degraded', state: 'stale' },
    })
    expect(ready.jwt.issuers?.[0]?.lastError).toBe('http_status')
    const { fetches, age } = await fetchPoints()
    expect(fetches.find((point) => point.attributes['callsign.jwks.outcome'] === 'failure')).toMatchObject({
      attributes: { 'callsign.jwks.trigger': 'refresh', 'error.type': 'http_status' },
      value: 1,
    })
    expect(age.map((point) => point.value)).toEqual([61])
  })

  it('is failing (503) past the stale bound, and ok (200) again once the endpoint recovers', async () => {
    clock.advance(120)
    expect(await readiness()).toMatchObject({ http: 503, status: 'failing', jwt: { state: 'failing' } })
    jwks.state.mode = 'ok'
    await verifier.warmUp()
    expect(await readiness()).toMatchObject({ http: 200, status: 'ok', jwt: { state: 'fresh' } })
    const { fetches } = await fetchPoints()
    expect(total(fetches)).toBe(jwks.state.jwksRequests)
    expect(fetches.map((point) => point.attributes['callsign.jwks.outcome']).sort()).toEqual([
      'failure',
      'success',
      'success',
    ])
  })

  it('reports a health() that throws as failing, and never throws itself', () => {
    const broken = createPipeline({
      policy: definePolicy({ routes: {} }),
      verifiers: [
        {
          kind: 'api-key',
          verify: () => null,
          health: () => {
            throw new Error('boom')
          },
        },
      ],
    })
    expect(broken.health()).toEqual({
      status: 'failing',
      components: { 'verifier:api-key': { status: 'failing', error: 'health_unavailable' } },
    })
  })
})
