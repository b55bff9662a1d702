import { type AuditEvent, ConfigError, definePolicy } from '@callsign/core'
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { createDevCerts } from '../../../test/adapters/support/dev-certs.js'
import { tableVerifiers } from '../../../test/adapters/support/test-verifiers.js'
import { fromGrpc } from '../src/from-grpc.js'
import { auth, getCaller, requireScopes } from '../src/index.js'
import { bind, Health, Inventory, type ReplyMessage, routes, unary } from './support.js'

const servers: grpc.Server[] = []
const clients: grpc.Client[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
  for (const server of servers.splice(0)) server.forceShutdown()
})

type Handlers = grpc.UntypedServiceImplementation

function implementation(reached: string[], deserialized: { count: number }): Handlers {
  return {
    Reserve(
      call: grpc.ServerUnaryCall<{ sku: string }, ReplyMessage>,
      callback: grpc.sendUnaryData<ReplyMessage>,
    ) {
      reached.push('Reserve')
      callback(null, { caller: getCaller(call).id, sku: call.request.sku })
    },
    Watch(call: grpc.ServerWritableStream<{ sku: string }, ReplyMessage>) {
      reached.push('Watch')
      call.write({ caller: getCaller(call).id, sku: call.request.sku })
      call.end()
    },
    Upload(
      call: grpc.ServerReadableStream<{ sku: string }, ReplyMessage>,
      callback: grpc.sendUnaryData<ReplyMessage>,
    ) {
      reached.push('Upload')
      const skus: string[] = []
      call.on('data', (item: { sku: string }) => skus.push(item.sku))
      call.on('end', () => callback(null, { caller: getCaller(call).id, sku: skus.join(',') }))
    },
    Chat(call: grpc.ServerDuplexStream<{ sku: string }, ReplyMessage>) {
      reached.push('Chat')
      call.on('data', (item: { sku: string }) => call.write({ caller: getCaller(call).id, sku: item.sku }))
      call.on('end', () => call.end())
    },
    __deserialized: deserialized as never,
  }
}

/** Inventory's service definition with a request deserializer that counts what it reads. */
function countingService(deserialized: { count: number }): grpc.ServiceDefinition {
  const service = { ...Inventory.service }
  const reserve = service.Reserve!
  service.Reserve = {
    ...reserve,
    requestDeserialize: (bytes: Buffer) => {
      deserialized.count++
      return reserve.requestDeserialize(bytes)
    },
  }
  return service
}

async function start(
  options: { secure?: ReturnType<typeof createDevCerts>; extra?: Partial<Parameters<typeof auth>[0]> } = {},
) {
  const reached: string[] = []
  const events: AuditEvent[] = []
  const deserialized = { count: 0 }
  const interceptor = auth({
    policy: definePolicy({ routes }),
    verifiers: tableVerifiers(),
    services: [Inventory.service, Health.service],
    audit: (event: AuditEvent) => events.push(event),
    allowPlaintextLoopback: true,
    ...options.extra,
  } as Parameters<typeof auth>[0])
  const server = new grpc.Server({ interceptors: [interceptor] })
  servers.push(server)
  const impl = implementation(reached, deserialized)
  server.addService(countingService(deserialized), impl)
  server.addService(Health.service, {
    Check(call: grpc.ServerUnaryCall<unknown, ReplyMessage>, callback: grpc.sendUnaryData<ReplyMessage>) {
      reached.push('Check')
      callback(null, { caller: call.metadata.get('x-api-key').length ? 'ignored' : 'anonymous', sku: '' })
    },
  })
  const certs = options.secure
  const creds = certs
    ? grpc.ServerCredentials.createSsl(
        certs.ca,
        [{ private_key: certs.serverKey, cert_chain: certs.serverCert }],
        true,
      )
    : grpc.ServerCredentials.createInsecure()
  const port = await bind(server, '127.0.0.1:0', creds)
  const client = (clientCreds = grpc.credentials.createInsecure()) => {
    const inventory = new Inventory(`127.0.0.1:${port}`, clientCreds)
    const health = new Health(`127.0.0.1:${port}`, clientCreds)
    clients.push(inventory, health)
    return { inventory, health }
  }
  return { server, reached, events, deserialized, port, client }
}

function metadataOf(values: Record<string, string>) {
  const md = new grpc.Metadata()
  for (const [key, value] of Object.entries(values)) md.set(key, value)
  return md
}

function streamOutcome(
  call: grpc.ClientReadableStream<ReplyMessage> | grpc.ClientDuplexStream<unknown, ReplyMessage>,
) {
  return new Promise<{ code: number; errorCode?: string; replies: ReplyMessage[] }>((resolve) => {
    const replies: ReplyMessage[] = []
    call.on('data', (reply: ReplyMessage) => replies.push(reply))
    call.on('error', (error: grpc.ServiceError) =>
      resolve({
        code: error.code,
        errorCode: String(error.metadata?.get('callsign-error-code')[0]),
        replies,
      }),
    )
    call.on('status', (status: grpc.StatusObject) => {
      if (status.code === 0) resolve({ code: 0, replies })
    })
  })
}

describe('@callsign/grpc auth(server) over a plaintext loopback channel', () => {
  it('allows a reader on unary Reserve and getCaller(call) returns the caller', async () => {
    const { client, reached, events } = await start()
    const outcome = await unary(client().inventory, 'Reserve', { authorization: 'Bearer valid-reader' })
    expect(outcome).toEqual({ code: 0, reply: { caller: 'svc-reader', sku: 'a-1' } })
    expect(reached).toEqual(['Reserve'])
    expect(events).toMatchObject([
      { decision: 'allow', transport: 'grpc', method: 'POST', route: '/shop.v1.Inventory/Reserve' },
    ])
  })

  it('refuses a call without credential with 16 UNAUTHENTICATED and callsign-error-code ERR_NO_CREDENTIAL, before reading the message', async () => {
    const { client, reached, deserialized } = await start()
    const outcome = await unary(client().inventory, 'Reserve', {})
    expect(outcome).toEqual({ code: 16, errorCode: 'ERR_NO_CREDENTIAL' })
    expect(reached).toEqual([])
    expect(deserialized.count).toBe(0)
  })

  it('refuses expired, revoked and crashing credentials with 16 ERR_INVALID_CREDENTIAL', async () => {
    const { client, events } = await start()
    for (const token of ['expired', 'revoked', 'crash', 'unknown']) {
      expect(await unary(client().inventory, 'Reserve', { authorization: `Bearer ${token}` })).toEqual({
        code: 16,
        errorCode: 'ERR_INVALID_CREDENTIAL',
      })
    }
    expect(events.map((e) => e.reason)).toEqual(['expired', 'revoked', 'verifier_error', 'x.unknown_token'])
  })

  it('refuses two credentials with 16 ERR_AMBIGUOUS_REQUEST', async () => {
    const { client } = await start()
    const both = { authorization: 'Bearer valid-reader', 'x-api-key': 'valid-reader' }
    expect(await unary(client().inventory, 'Reserve', both)).toEqual({
      code: 16,
      errorCode: 'ERR_AMBIGUOUS_REQUEST',
    })
  })

  it('hands every value of a metadata key to the pipeline, so duplicates are seen (fromGrpc header())', () => {
    // Node's HTTP/2 client refuses to send a duplicate authorization header, so this is checked
    // on the request fromGrpc builds rather than over the wire.
    const md = new grpc.Metadata()
    md.add('authorization', 'Bearer valid-reader')
    md.add('authorization', 'Bearer valid-writer')
    md.add('x-trace-bin', Buffer.from([1, 2, 3]))
    const call = { getConnectionInfo: () => ({ remoteAddress: '127.0.0.1' }) } as never
    const req = fromGrpc(call, '/shop.v1.Inventory/Reserve', md)
    expect(req.header('authorization')).toEqual(['Bearer valid-reader', 'Bearer valid-writer'])
    expect(req.header('x-trace-bin')).toEqual(['AQID'])
    expect(req).toMatchObject({
      transport: 'grpc',
      method: 'POST',
      route: '/shop.v1.Inventory/Reserve',
      remoteAddress: '127.0.0.1',
    })
    expect(req.tls).toBeUndefined()
  })

  it('serves the public Health/Check without credential', async () => {
    const { client } = await start()
    expect((await unary(client().health, 'Check', {})).code).toBe(0)
  })

  it('gives getCaller(call) in server-streaming, client-streaming and bidi handlers', async () => {
    const { client } = await start()
    const { inventory } = client()
    const md = metadataOf({ authorization: 'Bearer valid-writer' })
    const watch = (
      inventory as unknown as {
        Watch: (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<ReplyMessage>
      }
    ).Watch({ sku: 'w' }, md)
    expect(await streamOutcome(watch)).toEqual({ code: 0, replies: [{ caller: 'svc-writer', sku: 'w' }] })

    const upload = await new Promise<ReplyMessage>((resolve, reject) => {
      const call = (
        inventory as unknown as {
          Upload: (
            md: grpc.Metadata,
            cb: (e: Error | null, r: ReplyMessage) => void,
          ) => grpc.ClientWritableStream<unknown>
        }
      ).Upload(md, (error, reply) => (error ? reject(error) : resolve(reply)))
      call.write({ sku: 'u1' })
      call.write({ sku: 'u2' })
      call.end()
    })
    expect(upload).toEqual({ caller: 'svc-writer', sku: 'u1,u2' })

    const chat = (
      inventory as unknown as { Chat: (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, ReplyMessage> }
    ).Chat(md)
    chat.write({ sku: 'c1' })
    chat.end()
    expect(await streamOutcome(chat)).toEqual({ code: 0, replies: [{ caller: 'svc-writer', sku: 'c1' }] })
  })

  it('refuses a reader on client-streaming Upload with 7 PERMISSION_DENIED and ERR_INSUFFICIENT_SCOPE', async () => {
    const { client, reached } = await start()
    const { inventory } = client()
    const outcome = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (
        inventory as unknown as {
          Upload: (
            md: grpc.Metadata,
            cb: (e: grpc.ServiceError | null) => void,
          ) => grpc.ClientWritableStream<unknown>
        }
      ).Upload(metadataOf({ authorization: 'Bearer valid-reader' }), (error) => resolve(error!))
      call.write({ sku: 'u1' })
      call.end()
    })
    expect(outcome.code).toBe(7)
    expect(outcome.metadata.get('callsign-error-code')).toEqual(['ERR_INSUFFICIENT_SCOPE'])
    expect(outcome.metadata.get('callsign-required-scope')).toEqual(['orders:write'])
    expect(reached).toEqual([])
  })

  it('refuses an anonymous bidi Chat with 16 before the handler runs', async () => {
    const { client, reached } = await start()
    const chat = (
      client().inventory as unknown as {
        Chat: (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, ReplyMessage>
      }
    ).Chat(new grpc.Metadata())
    chat.write({ sku: 'c1' })
    chat.end()
    expect(await streamOutcome(chat)).toMatchObject({ code: 16, errorCode: 'ERR_NO_CREDENTIAL', replies: [] })
    expect(reached).toEqual([])
  })
})

describe('@callsign/grpc startup rules', () => {
  it('throws a ConfigError at auth() naming every method of the listed services without a policy entry', () => {
    const { '/shop.v1.Inventory/Chat': _chat, ...partial } = routes
    expect(() =>
      auth({
        policy: definePolicy({ routes: partial }),
        verifiers: tableVerifiers(),
        services: [Inventory.service, Health.service],
      }),
    ).toThrow(/\/shop\.v1\.Inventory\/Chat/)
  })

  it('reports unused entries and missing methods in report-only mode', () => {
    const reports: unknown[] = []
    auth({
      policy: definePolicy({ routes: { '/shop.v1.Health/Check': 'public', '/shop.v1.Gone/Away': 'public' } }),
      verifiers: tableVerifiers(),
      services: [Health.service, Inventory.service],
      reportOnly: true,
      onReport: (report) => reports.push(report),
    })
    expect(reports).toEqual([
      {
        missing: [
          '/shop.v1.Inventory/Chat',
          '/shop.v1.Inventory/Reserve',
          '/shop.v1.Inventory/Upload',
          '/shop.v1.Inventory/Watch',
        ],
        unused: ['/shop.v1.Gone/Away'],
      },
    ])
  })

  it('refuses a method of a service not listed in "services" unless the policy names it (7 ERR_ROUTE_NOT_IN_POLICY)', async () => {
    const { client } = await start({
      extra: { services: [Health.service], reportOnly: true, onReport: () => {} },
    })
    const { inventory } = client()
    expect(await unary(inventory, 'Reserve', { authorization: 'Bearer valid-writer' })).toMatchObject({
      code: 0,
    })
    const policy = definePolicy({ routes: { '/shop.v1.Health/Check': 'public' } })
    const { client: narrow } = await start({
      extra: { policy, services: [Health.service], reportOnly: true, onReport: () => {} },
    })
    expect(await unary(narrow().inventory, 'Reserve', { authorization: 'Bearer valid-writer' })).toEqual({
      code: 7,
      errorCode: 'ERR_ROUTE_NOT_IN_POLICY',
    })
  })

  it('refuses plaintext calls (16, audited) unless allowPlaintextLoopback, and serves them from loopback when allowed', async () => {
    const strict = await start({ extra: { allowPlaintextLoopback: false } })
    expect(
      await unary(strict.client().inventory, 'Reserve', { authorization: 'Bearer valid-reader' }),
    ).toEqual({
      code: 16,
      errorCode: 'ERR_INVALID_CREDENTIAL',
    })
    expect(strict.events.at(-1)).toMatchObject({ decision: 'deny', reason: 'plaintext_not_allowed' })
    expect(strict.reached).toEqual([])
    const sidecar = await start()
    expect(
      await unary(sidecar.client().inventory, 'Reserve', { authorization: 'Bearer valid-reader' }),
    ).toMatchObject({ code: 0 })
  })

  it('refuses bad options eagerly with a ConfigError naming the option', () => {
    const policy = definePolicy({ routes })
    const services = [Inventory.service, Health.service]
    expect(() => auth({ policy, verifiers: [], services })).toThrow(/verifiers/)
    expect(() =>
      auth({ policy, verifiers: tableVerifiers(), services, allowPlaintextLoopback: 1 as never }),
    ).toThrow(/allowPlaintextLoopback/)
    expect(() => auth({ policy, verifiers: tableVerifiers() } as never)).toThrow(/services/)
    expect(() => auth({ policy, verifiers: tableVerifiers(), services, logger: 'console' as never })).toThrow(
      /logger/,
    )
    expect(() => auth(undefined as never)).toThrow(ConfigError)
  })
})

describe('@callsign/grpc over mTLS', () => {
  const certs = createDevCerts()

  it('passes the client certificate to the verifiers and identifies the caller by it', async () => {
    const { client } = await start({ secure: certs })
    const pair = certs.client('valid-reader')
    const { inventory } = client(grpc.credentials.createSsl(certs.ca, pair.key, pair.cert))
    expect(await unary(inventory, 'Reserve', {})).toEqual({
      code: 0,
      reply: { caller: 'svc-reader', sku: 'a-1' },
    })
  })

  it('refuses a revoked client certificate with 16 ERR_INVALID_CREDENTIAL', async () => {
    const { client } = await start({ secure: certs })
    const pair = certs.client('revoked')
    const { inventory } = client(grpc.credentials.createSsl(certs.ca, pair.key, pair.cert))
    expect(await unary(inventory, 'Reserve', {})).toEqual({ code: 16, errorCode: 'ERR_INVALID_CREDENTIAL' })
  })
})

describe('@callsign/grpc requireScopes', () => {
  it('wraps a handler with an extra requirement: 7 PERMISSION_DENIED for a reader, OK for a writer', async () => {
    const events: AuditEvent[] = []
    const interceptor = auth({
      policy: definePolicy({ routes }),
      verifiers: tableVerifiers(),
      services: [Inventory.service, Health.service],
      audit: (event) => events.push(event),
      allowPlaintextLoopback: true,
    })
    const server = new grpc.Server({ interceptors: [interceptor] })
    servers.push(server)
    server.addService(Inventory.service, {
      Reserve: requireScopes('orders:write')(
        (call: grpc.ServerUnaryCall<unknown, ReplyMessage>, callback: grpc.sendUnaryData<ReplyMessage>) =>
          callback(null, { caller: getCaller(call).id, sku: '' }),
      ),
      Watch: requireScopes('orders:write')((call: grpc.ServerWritableStream<unknown, ReplyMessage>) =>
        call.end(),
      ),
      Upload: () => {},
      Chat: () => {},
    })
    server.addService(Health.service, { Check: () => {} })
    const port = await bind(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure())
    const inventory = new Inventory(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
    clients.push(inventory)
    expect(await unary(inventory, 'Reserve', { authorization: 'Bearer valid-reader' })).toEqual({
      code: 7,
      errorCode: 'ERR_INSUFFICIENT_SCOPE',
    })
    expect(events.slice(-2)).toMatchObject([
      { decision: 'allow', route: '/shop.v1.Inventory/Reserve', scopes: ['orders:read'] },
      { decision: 'deny', code: 'ERR_INSUFFICIENT_SCOPE', scopes: ['orders:write'], caller: 'svc-reader' },
    ])
    expect((await unary(inventory, 'Reserve', { authorization: 'Bearer valid-writer' })).code).toBe(0)
    expect(events.at(-1)).toMatchObject({ decision: 'allow', scopes: ['orders:write'], caller: 'svc-writer' })
    const watch = (
      inventory as unknown as {
        Watch: (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<ReplyMessage>
      }
    ).Watch({}, metadataOf({ authorization: 'Bearer valid-reader' }))
    expect(await streamOutcome(watch)).toMatchObject({ code: 7, errorCode: 'ERR_INSUFFICIENT_SCOPE' })
    expect(() => requireScopes('nope')).toThrow(ConfigError)
  })
})
