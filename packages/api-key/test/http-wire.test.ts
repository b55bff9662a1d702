import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AuditEvent, type AuthRequest, createPipeline, definePolicy } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyVerifier, createApiKey, type FileKeyStore, fileKeyStore } from '../src/index.js'
import { tempDir } from './support.js'

// A bare node:http server stands in for an adapter (the adapters are other packages): it builds the
// AuthRequest from the route pattern and headers only, as every adapter does.
let server: Server
let base: string
let key: string
let store: FileKeyStore
let tmp: Awaited<ReturnType<typeof tempDir>>
const audit: AuditEvent[] = []

beforeAll(async () => {
  tmp = await tempDir()
  store = fileKeyStore(tmp.file('keys.json'), { watch: false })
  ;({ key } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] }))
  const pipeline = createPipeline({
    policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
    verifiers: [apiKeyVerifier({ store, header: 'x-api-key' })],
    audit: (event) => audit.push(event),
  })
  server = createServer(async (req, res) => {
    const decision = await pipeline.decide(toAuthRequest(req))
    if (decision.allowed) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ caller: decision.caller?.id }))
      return
    }
    const refusal = httpRefusal(decision.error)
    res.writeHead(refusal.status, refusal.headers).end(JSON.stringify(refusal.body))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((done) => server.close(done))
  await tmp.remove()
})

function toAuthRequest(req: IncomingMessage): AuthRequest {
  return {
    transport: 'http',
    method: req.method ?? 'GET',
    route: '/orders/:id',
    header: (name) => {
      const values: string[] = []
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!)
      }
      return values
    },
  }
}

/** A request whose headers may repeat a name or carry latin1 bytes. */
function get(path: string, headers: [string, string][] = []) {
  return new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: JSON.stringify(res.headers), body }),
      )
    })
    const grouped = new Map<string, string[]>()
    for (const [name, value] of headers) grouped.set(name, [...(grouped.get(name) ?? []), value])
    for (const [name, values] of grouped) req.setHeader(name, values.length === 1 ? values[0]! : values)
    req.on('error', reject)
    req.end()
  })
}

describe('the API key verifier behind a real HTTP server', () => {
  it('answers 200 for a valid key in Authorization: Bearer', async () => {
    const res = await get('/orders/1', [['authorization', `Bearer ${key}`]])
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ caller: 'billing' })
  })

  it.each([['api_key'], ['key'], ['access_token']])(
    'never accepts a key in the query string (?%s=…): 401',
    async (name) => {
      const res = await get(`/orders/1?${name}=${key}`)
      expect(res.status).toBe(401)
      expect(JSON.parse(res.body).code).toBe('ERR_NO_CREDENTIAL')
    },
  )

  const cases: [string, number, (k: string) => [string, string][]][] = [
    ['a garbage key with our prefix', 401, () => [['authorization', `Bearer csk_${'A'.repeat(62)}`]]],
    ['a wrong scheme', 401, (k) => [['authorization', `Token ${k}`]]],
    ['extra whitespace inside', 401, (k) => [['authorization', `Bearer  ${k}`]]],
    [
      'two keys',
      400,
      (k) => [
        ['authorization', `Bearer ${k}`],
        ['x-api-key', k],
      ],
    ],
    [
      'two x-api-key headers',
      400,
      (k) => [
        ['x-api-key', k],
        ['x-api-key', k],
      ],
    ],
    ['an empty x-api-key', 401, () => [['x-api-key', '']]],
    ['latin1 bytes in the key', 401, (k) => [['x-api-key', `${k.slice(0, -1)}\u00e9`]]],
    ['an oversized key', 401, (k) => [['x-api-key', `${k}${'x'.repeat(8000)}`]]],
  ]
  it.each(cases)(
    'refuses %s: %s, with no secret or stack in the response',
    async (_case, status, headers) => {
      const res = await get('/orders/1', headers(key))
      expect(res.status).toBe(status)
      for (const part of [res.body, res.headers]) {
        expect(part).not.toContain(key.slice(17, 60))
        expect(part).not.toContain('csk_')
        expect(part).not.toMatch(/at .*\.ts:\d+/)
      }
      const event = audit.at(-1)!
      expect(event.decision).toBe('deny')
      expect(JSON.stringify(event)).not.toContain(key.slice(17, 60))
    },
  )

  it('puts the reason in the audit event only: an unknown key is 401 invalid_token, audited as unknown_key', async () => {
    const other = await createApiKey(fileKeyStore(tmp.file('other.json'), { watch: false }), {
      owner: 'intruder',
      scopes: ['orders:read'],
    })
    const res = await get('/orders/1', [['authorization', `Bearer ${other.key}`]])
    expect(res.status).toBe(401)
    expect(res.headers).toContain('error=\\"invalid_token\\"')
    expect(res.body).not.toContain('unknown_key')
    expect(audit.at(-1)).toMatchObject({ reason: 'unknown_key', code: 'ERR_INVALID_CREDENTIAL' })
  })
})
