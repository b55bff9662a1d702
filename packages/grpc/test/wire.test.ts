import { type AuditEvent, definePolicy } from '@callsign/core'
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { tableVerifiers } from '../../../test/adapters/support/test-verifiers.js'
import { grpcCurl } from '../../../test/support/grpc-curl.js'
import { auth, getCaller } from '../src/index.js'
import { redactText } from '../src/redact-credentials.js'
import { bind, Health, Inventory, type ReplyMessage, routes, unary } from './support.js'

// curl (libcurl with nghttp2) is the independent HTTP/2 client here: unlike Node's, it sends a
// header as many times as it is given, and a value with a tab in it.

const servers: grpc.Server[] = []
const clients: grpc.Client[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  for (const server of servers.splice(0)) server.forceShutdown()
})

async function start() {
  const events: AuditEvent[] = []
  const logged: string[] = []
  const reached: string[] = []
  const record = (...args: unknown[]) => logged.push(args.map(String).join(' '))
  const server = new grpc.Server({
    interceptors: [
      auth({
        policy: definePolicy({ routes }),
        verifiers: tableVerifiers(),
        services: [Inventory.service, Health.service],
        audit: (event) => events.push(event),
        allowPlaintextLoopback: true,
        logger: { warn: record, error: record, info: record, debug: record },
      }),
    ],
  })
  servers.push(server)
  server.addService(Inventory.service, {
    Reserve(call: grpc.ServerUnaryCall<unknown, ReplyMessage>, callback: grpc.sendUnaryData<ReplyMessage>) {
      reached.push(getCaller(call).id)
      callback(null, { caller: getCaller(call).id, sku: '' })
    },
  })
  server.addService(Health.service, {})
  const port = await bind(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure())
  const inventory = new Inventory(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  clients.push(inventory)
  // The first call a server gets is how Callsign finds its HTTP/2 server (see grpc-transport.ts).
  expect((await unary(inventory, 'Reserve', { authorization: 'Bearer valid-reader' })).code).toBe(0)
  reached.length = 0
  events.length = 0
  return { port, events, logged, reached }
}

/** One unary Reserve call sent by curl with these header lines. */
const curl = (port: number, headers: string[]) => grpcCurl(port, '/shop.v1.Inventory/Reserve', headers)

// curl runs as a child process: on a loaded machine it can take many seconds to start and finish
describe('@callsign/grpc against raw HTTP/2 requests', { timeout: 90_000 }, () => {
  it('serves one authorization header sent by curl (the control)', async () => {
    const { port, reached } = await start()
    expect(await curl(port, ['authorization: Bearer valid-reader'])).toEqual({ status: 0 })
    expect(reached).toEqual(['svc-reader'])
  })

  it('refuses two authorization headers on one stream with 16 ERR_AMBIGUOUS_REQUEST, in either order', async () => {
    const { port, events, reached } = await start()
    for (const pair of [
      ['authorization: Bearer valid-reader', 'authorization: Bearer valid-writer'],
      ['authorization: Bearer valid-writer', 'authorization: Bearer valid-reader'],
    ]) {
      expect(await curl(port, pair)).toEqual({ status: 16, code: 'ERR_AMBIGUOUS_REQUEST' })
    }
    expect(reached).toEqual([])
    expect(events).toMatchObject([
      { decision: 'deny', reason: 'duplicate_authorization' },
      { decision: 'deny', reason: 'duplicate_authorization' },
    ])
  })

  it('refuses two x-api-key headers as ambiguous too', async () => {
    const { port, reached } = await start()
    expect(await curl(port, ['x-api-key: valid-reader', 'x-api-key: valid-writer'])).toMatchObject({
      status: 16,
      code: 'ERR_AMBIGUOUS_REQUEST',
    })
    expect(reached).toEqual([])
  })

  it("keeps a credential with an illegal character out of grpc-js's log, and still logs the event", async () => {
    const { port, logged } = await start()
    const secret = 'csk_k1_s3cr3tValueThatMustNotLeak'
    const outcome = await curl(port, [`x-api-key: ${secret}\tx`, `authorization: Bearer ${secret}\u00e9`])
    expect(outcome.status).toBe(16)
    expect(logged.join('\n')).toContain('Failed to add metadata entry x-api-key: [redacted]')
    expect(logged.join('\n')).not.toContain('s3cr3t')
  })
})

describe('redactCredentials', () => {
  it.each([
    [
      'Failed to add metadata entry x-api-key: csk_a_b\tc. Metadata string value "csk_a_b\tc" contains illegal characters',
      'csk_a_b',
    ],
    ['Request metadata: {"authorization":["Bearer abc.def"],"x-request-id":["r1"]}', 'abc.def'],
    ['sent Authorization: Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
    ['token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln in a message', 'eyJzdWIiOiJ4In0'],
  ])('takes the credential out of %j', (text, secret) => {
    expect(redactText(text)).not.toContain(secret)
    expect(redactText(text)).toContain('[redacted]')
  })

  it('leaves other messages as they are', () => {
    const text = 'Received a RST_STREAM with code 8 from 127.0.0.1:4444; x-request-id r1'
    expect(redactText(text)).toBe(text)
  })
})
