/**
 * Per-request cost of each adapter and verifier in process, for finding where the time goes:
 *
 *   tsx --conditions=@callsign/source [--cpu-prof] bench/support/in-process.ts [filter]
 *
 * Each app is driven through its request listener with real IncomingMessage/ServerResponse objects
 * on a socket that discards what is written: no network, so the figures are the framework's and
 * Callsign's own work. Rows print ns per request and the difference to their framework's bare row.
 */
import { IncomingMessage, ServerResponse } from 'node:http'
import { Duplex } from 'node:stream'
import { definePolicy } from '@callsign/core'
import { auth as expressAuth } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import bearerAuth from '@fastify/bearer-auth'
import express from 'express'
import Fastify from 'fastify'
import { createFixture, type Fixture, removeFixture, SCOPE } from './fixture.js'
import { callsignVerifier, type Guard } from './http-targets.js'
import { measure } from './measure.js'

class DiscardSocket extends Duplex {
  override _read() {}
  override _write(_chunk: unknown, _encoding: unknown, callback: () => void) {
    callback()
  }
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void

function requestInto(listener: Listener, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new DiscardSocket() as unknown as ConstructorParameters<typeof IncomingMessage>[0]
    const req = new IncomingMessage(socket)
    req.method = 'GET'
    req.url = '/orders/7'
    const raw = ['host', 'bench', ...Object.entries(headers).flat()]
    req.rawHeaders = raw
    // What the HTTP parser sets: headersDistinct reads this many raw header entries.
    const count = Object.getOwnPropertySymbols(req).find((s) => s.description === 'kHeadersCount')
    if (count) (req as unknown as Record<symbol, number>)[count] = raw.length
    req.headers = Object.fromEntries(Object.entries({ host: 'bench', ...headers }))
    req.push(null)
    const res = new ServerResponse(req)
    res.assignSocket(socket)
    res.on('finish', () =>
      res.statusCode === 200
        ? resolve()
        : reject(new Error(`status ${res.statusCode} ${JSON.stringify(res.getHeaders())}`)),
    )
    listener(req, res)
  })
}

const policy = () => definePolicy({ routes: { 'GET /orders/:id': [SCOPE] } })

async function fastifyListener(guard: Guard | 'noop' | 'bearer-auth', fixture: Fixture): Promise<Listener> {
  const app = Fastify()
  if (guard === 'noop') app.addHook('onRequest', async () => {})
  else if (guard === 'bearer-auth') await app.register(bearerAuth, { keys: new Set([fixture.apiKey]) })
  else if (guard !== 'none')
    await app.register(fastifyAuth, { policy: policy(), verifiers: [callsignVerifier(guard, fixture)] })
  app.get('/orders/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  await app.ready()
  return app.routing as unknown as Listener
}

function expressListener(guard: Guard, fixture: Fixture): Listener {
  const app = express()
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id })
  })
  if (guard !== 'none') expressAuth(app, { policy: policy(), verifiers: [callsignVerifier(guard, fixture)] })
  return app as unknown as Listener
}

const filter = process.argv[2] ?? ''
const { fixture } = await createFixture(10)
try {
  const key = { authorization: `Bearer ${fixture.apiKey}` }
  const jwt = { authorization: `Bearer ${fixture.hotToken}` }
  const rows: [string, Listener, Record<string, string>][] = [
    ['fastify none', await fastifyListener('none', fixture), jwt],
    ['fastify noop async hook', await fastifyListener('noop', fixture), jwt],
    ['fastify api-key', await fastifyListener('api-key', fixture), key],
    ['fastify bearer-auth (peer)', await fastifyListener('bearer-auth', fixture), key],
    ['fastify jwt (cached)', await fastifyListener('jwt', fixture), jwt],
    ['express none', expressListener('none', fixture), jwt],
    ['express api-key', expressListener('api-key', fixture), key],
    ['express jwt (cached)', expressListener('jwt', fixture), jwt],
  ]
  const chosen = rows.filter(([name]) => name.includes(filter) || name.endsWith('none'))
  for (const [name, listener, headers] of chosen) {
    await requestInto(listener, headers).catch((error: Error) => {
      throw new Error(`${name}: ${error.message}`)
    })
  }
  const results = await measure(
    chosen.map(([name, listener, headers]) => [name, () => requestInto(listener, headers)] as const),
    { iterations: 20_000, rounds: 7, warmup: 20_000 },
  )
  const base = (name: string) => results.find((r) => r.name === `${name.split(' ')[0]} none`)!.median
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(26)} ${r.median.toFixed(0).padStart(7)} ns  +${((r.median - base(r.name)) / 1000).toFixed(2)} µs  (${r.min.toFixed(0)}–${r.max.toFixed(0)})\n`,
    )
  }
} finally {
  await removeFixture(fixture)
}
