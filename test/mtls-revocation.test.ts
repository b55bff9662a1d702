import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect as http2Connect } from 'node:http2'
import { Agent, createServer as createHttpsServer, request } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AuditEvent, definePolicy } from '@callsign/core'
import { auth as expressAuth } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import { auth as grpcAuth } from '@callsign/grpc'
import {
  createDevCa,
  issueServiceCertificate,
  mtlsVerifier,
  type ServerTls,
  tlsServerOptions,
} from '@callsign/mtls'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { opensslCa, opensslCertificate, opensslCrl } from '../packages/mtls/test/support/openssl.js'
import { grpcRoutes, httpRoutes } from './adapters/support/harnesses.js'

// Dropped trust reaches connections already open: a keep-alive HTTPS connection (Express,
// Fastify), an HTTP/2 session (Fastify on node:http2) and a gRPC channel, each opened under a
// client certificate from CA X, are refused on their next request or call once X leaves the
// bundle or the certificate's serial is on X's CRL, after tlsServerOptions reloads. HTTP servers
// are attached (their sockets are closed at the reload); gRPC's next call is refused, and its
// HTTP/2 session then ended by the server. The 'lowest frameworks' project runs it on grpc-js 1.12.
// Certificates: X is a Callsign dev CA, Y an openssl CA; the client's leaf is made by openssl.

const BILLING = 'spiffe://mesh.local/ns/prod/sa/billing'
const SVID =
  'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:'

let caX: { cert: string; key: string }
let caY: { cert: string; key: string }
let serverPair: { cert: string; key: string }
let client: { cert: string; key: string }
let emptyCrlX: string
let emptyCrlY: Buffer
let revokingCrlX: string
let scratch: string

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'callsign-revocation-pki-'))
  caX = createDevCa({ trustDomain: 'mesh.local' })
  caY = opensslCa(scratch, 'mesh.local')
  serverPair = issueServiceCertificate({
    ca: caY,
    spiffeId: 'spiffe://mesh.local/ns/prod/sa/orders',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  })
  client = opensslCertificate(scratch, { signer: caX, extensions: `${SVID}${BILLING}` })
  emptyCrlX = opensslCrl(scratch, caX, []).pem
  emptyCrlY = opensslCrl(scratch, caY, []).der
  revokingCrlX = opensslCrl(scratch, caX, [client.cert]).pem
  return () => rm(scratch, { recursive: true, force: true })
})

/** The server's files: both CAs bound to mesh.local, a CRL per CA (X's PEM, Y's DER). */
async function serverFiles(dir: string) {
  const files = {
    ca: join(dir, 'ca.crt'),
    crl: [join(dir, 'x.crl'), join(dir, 'y.crl')],
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
  }
  await writeFile(files.ca, caX.cert + caY.cert)
  await writeFile(files.crl[0]!, emptyCrlX)
  await writeFile(files.crl[1]!, emptyCrlY)
  await writeFile(files.cert, serverPair.cert)
  await writeFile(files.key, serverPair.key)
  return files
}

/** One long-lived connection: each call answers 200/401 (HTTP) or 0/16 (gRPC), or 'failed'. */
interface Connection {
  call(): Promise<number | 'failed'>
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<unknown>
  close(): void
}

interface Target {
  readonly audit: AuditEvent[]
  open(): Promise<Connection>
  /** A fresh connection for one call. */
  once(): Promise<number | 'failed'>
  stop(): Promise<void>
}

const verifier = (serverTls: ServerTls) =>
  mtlsVerifier({
    identity: 'spiffe',
    serverTls,
    trustDomains: ['mesh.local'],
  })
/** The verifier authenticates; the policy grants billing its scope. */
const grants = { [BILLING]: ['orders:read'] }
const clientTls = () => ({ ca: caY.cert, cert: client.cert, key: client.key })

function httpsConnection(port: number): Connection {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ...clientTls() })
  let socket: Socket | undefined
  let closedResolve: (value: unknown) => void = () => {}
  const closed = new Promise((resolve) => {
    closedResolve = resolve
  })
  const call = () =>
    new Promise<number | 'failed'>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/orders/42', agent, servername: 'localhost' },
        (res) => {
          if (!socket) {
            socket = res.socket
            socket.once('close', closedResolve)
          }
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', () => resolve('failed'))
      req.end()
    })
  return { call, closed, close: () => agent.destroy() }
}

async function httpsOnce(port: number): Promise<number | 'failed'> {
  const connection = httpsConnection(port)
  try {
    return await connection.call()
  } finally {
    connection.close()
  }
}

async function expressTarget(serverTls: ServerTls, attach: boolean): Promise<Target> {
  const audit: AuditEvent[] = []
  const app = express()
  app.get('/orders/:id', (_req, res) => res.json({ ok: true }))
  app.post('/orders', (_req, res) => res.json({ ok: true }))
  app.get('/healthz', (_req, res) => res.json({ ok: true }))
  expressAuth(app, {
    policy: definePolicy({ routes: httpRoutes, grants }),
    verifiers: [verifier(serverTls)],
    audit: (event) => audit.push(event),
  })
  const server = createHttpsServer(serverTls.options, app)
  server.keepAliveTimeout = 120_000 // no idle close: only the reload may close the connection
  if (attach) serverTls.attach(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    audit,
    open: async () => httpsConnection(port),
    once: () => httpsOnce(port),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function fastifyTarget(serverTls: ServerTls, http2: boolean): Promise<Target> {
  const audit: AuditEvent[] = []
  // one type for both: the HTTP/2 instance differs only in its raw request and reply types
  const app = (http2
    ? Fastify({ http2: true, https: serverTls.options })
    : Fastify({ https: serverTls.options })) as unknown as FastifyInstance
  await app.register(fastifyAuth, {
    policy: definePolicy({ routes: httpRoutes, grants }),
    verifiers: [verifier(serverTls)],
    audit: (event) => audit.push(event),
  })
  app.get('/orders/:id', async () => ({ ok: true }))
  app.post('/orders', async () => ({ ok: true }))
  app.get('/healthz', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  serverTls.attach(app.server as never)
  const { port } = app.server.address() as AddressInfo
  const h2 = (): Connection => {
    const session = http2Connect(`https://localhost:${port}`, { ...clientTls(), host: '127.0.0.1' })
    session.on('error', () => {})
    const call = () =>
      new Promise<number | 'failed'>((resolve) => {
        if (session.closed || session.destroyed) return resolve('failed')
        const stream = session.request({ ':path': '/orders/42' })
        let status = 0
        stream.on('response', (headers) => {
          status = Number(headers[':status'])
        })
        stream.on('error', () => resolve('failed'))
        stream.on('close', () => resolve(status === 0 ? 'failed' : status))
        stream.resume()
        stream.end()
      })
    return { call, closed: once(session, 'close'), close: () => session.destroy() }
  }
  return {
    audit,
    open: async () => (http2 ? h2() : httpsConnection(port)),
    async once() {
      const connection = http2 ? h2() : httpsConnection(port)
      try {
        return await connection.call()
      } finally {
        connection.close()
      }
    },
    stop: () => app.close(),
  }
}

const Orders = (
  grpc.loadPackageDefinition(
    loadSync(fileURLToPath(new URL('./adapters/fixtures/contract.proto', import.meta.url))),
  ) as unknown as { contract: { v1: { Orders: grpc.ServiceClientConstructor } } }
).contract.v1.Orders

/**
 * Resolves once the channel, having been READY (its first call connected it), is READY no longer:
 * the server ended its HTTP/2 session. No deadline: a session never ended fails on the test's timeout.
 */
async function leftReady(channel: ReturnType<grpc.Client['getChannel']>): Promise<grpc.connectivityState> {
  const { READY, SHUTDOWN } = grpc.connectivityState
  let ready = false
  for (;;) {
    const state = channel.getConnectivityState(false)
    if (state === READY) ready = true
    else if (ready || state === SHUTDOWN) return state
    await new Promise((resolve) => channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, resolve))
  }
}

/**
 * The certificate provider (rotation without a new server); on grpc-js 1.12 fixed credentials of the
 * current material instead: 1.12 creates its HTTP/2 server before the provider's first update, so
 * that server never asks for a client certificate (every call is then refused, 16 no_credential).
 * The trust changes of these tests reach gRPC through the verifier either way.
 */
function grpcServerCredentials(serverTls: ServerTls): grpc.ServerCredentials {
  if (process.env.CALLSIGN_FRAMEWORKS !== 'lowest') {
    const provider = serverTls.certificateProvider()
    return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true)
  }
  const { ca, cert, key } = serverTls.material()
  return grpc.ServerCredentials.createSsl(Buffer.concat(ca), [{ private_key: key, cert_chain: cert }], true)
}

async function grpcTarget(serverTls: ServerTls): Promise<Target> {
  const audit: AuditEvent[] = []
  const interceptor = grpcAuth({
    policy: definePolicy({ routes: { ...grpcRoutes, '/contract.v1.Orders/Unmapped': 'public' }, grants }),
    verifiers: [verifier(serverTls)],
    services: [Orders.service],
    audit: (event) => audit.push(event),
  })
  const server = new grpc.Server({ interceptors: [interceptor] })
  const ok = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { caller: 'x' })
  server.addService(Orders.service, { Get: ok, Create: ok, Health: ok, Unmapped: ok })
  const credentials = grpcServerCredentials(serverTls)
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  )
  const channel = (): Connection => {
    const { ca, cert, key } = clientTls()
    const stub = new Orders(
      `localhost:${port}`,
      grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(key), Buffer.from(cert)),
    ) as unknown as grpc.Client & {
      Get(request: object, callback: (error: grpc.ServiceError | null) => void): void
    }
    const call = () =>
      new Promise<number | 'failed'>((resolve) =>
        stub.Get({ id: '42' }, (error) => resolve(error ? error.code : 0)),
      )
    return { call, closed: leftReady(stub.getChannel()), close: () => stub.close() }
  }
  return {
    audit,
    open: async () => channel(),
    async once() {
      const connection = channel()
      try {
        return await connection.call()
      } finally {
        connection.close()
      }
    },
    stop: async () => server.forceShutdown(),
  }
}

type TargetName = 'express' | 'fastify' | 'fastify-http2' | 'grpc'
const TARGETS: Record<TargetName, (serverTls: ServerTls) => Promise<Target>> = {
  express: (serverTls) => expressTarget(serverTls, true),
  fastify: (serverTls) => fastifyTarget(serverTls, false),
  'fastify-http2': (serverTls) => fastifyTarget(serverTls, true),
  grpc: grpcTarget,
}
const OK: Record<TargetName, number> = { express: 200, fastify: 200, 'fastify-http2': 200, grpc: 0 }
const REFUSED: Record<TargetName, number> = { express: 401, fastify: 401, 'fastify-http2': 401, grpc: 16 }

let dir: string
let running: { serverTls: ServerTls; target: Target; connection?: Connection } | undefined

afterEach(async () => {
  running?.connection?.close()
  await running?.target.stop()
  running?.serverTls.close()
  running = undefined
  await rm(dir, { recursive: true, force: true })
})

async function start(name: TargetName) {
  dir = await mkdtemp(join(tmpdir(), 'callsign-revocation-'))
  const files = await serverFiles(dir)
  const serverTls = tlsServerOptions({ ...files, trustDomain: 'mesh.local', watch: false })
  const target = await TARGETS[name](serverTls)
  running = { serverTls, target }
  return { files, serverTls, target }
}

/**
 * After the change, the open connection is refused on its next request or call: HTTP sees its
 * socket closed (a new connection cannot present the certificate any more), gRPC gets status 16
 * with the reason in the audit event, then sees the server end its HTTP/2 session (the channel
 * leaves READY), and its next call, on a new connection, is refused too.
 */
async function expectRefusedOnOpenConnection(
  name: TargetName,
  target: Target,
  connection: Connection,
  reason: string,
) {
  if (name === 'grpc') {
    expect(await connection.call()).toBe(REFUSED.grpc)
    expect(target.audit.at(-1)).toMatchObject({ decision: 'deny', code: 'ERR_INVALID_CREDENTIAL', reason })
    expect(await connection.closed).not.toBe(grpc.connectivityState.SHUTDOWN)
    // a new connection: refused by the handshake (CA dropped) or the verifier (16, serial revoked)
    expect(await connection.call()).not.toBe(OK.grpc)
  } else {
    await connection.closed
    expect(await connection.call()).not.toBe(OK[name])
  }
}

describe.each(Object.keys(TARGETS) as TargetName[])('revocation on open connections over %s', (name) => {
  it('refuses a connection opened under a CA that is then dropped from the bundle (previousCaTtlMs 0)', async () => {
    const { files, serverTls, target } = await start(name)
    const connection = await target.open()
    running!.connection = connection
    expect(await connection.call()).toBe(OK[name])
    expect(await connection.call()).toBe(OK[name])
    await writeFile(files.ca, caY.cert)
    expect(serverTls.reload()).toBe(true)
    await expectRefusedOnOpenConnection(name, target, connection, 'unknown_ca')
  })

  it("refuses a connection whose certificate's serial is then revoked by its CA's CRL", async () => {
    const { files, serverTls, target } = await start(name)
    const connection = await target.open()
    running!.connection = connection
    expect(await connection.call()).toBe(OK[name])
    await writeFile(files.crl[0]!, revokingCrlX)
    expect(serverTls.reload()).toBe(true)
    await expectRefusedOnOpenConnection(name, target, connection, 'revoked')
  })

  it('refuses a revoked certificate on a new connection with 401 / 16 and reason revoked', async () => {
    const { files, serverTls, target } = await start(name)
    await writeFile(files.crl[0]!, revokingCrlX)
    expect(serverTls.reload()).toBe(true)
    expect(await target.once()).toBe(REFUSED[name])
    expect(target.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'revoked' })
  })
})

describe('a server that is not attached: the verifier alone', () => {
  it('answers 401 on the same keep-alive connection after the CA is dropped, then closes it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'callsign-revocation-'))
    const files = await serverFiles(dir)
    const serverTls = tlsServerOptions({ ...files, trustDomain: 'mesh.local', watch: false })
    const target = await expressTarget(serverTls, false)
    const connection = await target.open()
    running = { serverTls, target, connection }
    expect(await connection.call()).toBe(200)
    await writeFile(files.ca, caY.cert)
    expect(serverTls.reload()).toBe(true)
    expect(await connection.call()).toBe(401)
    expect(target.audit.at(-1)).toMatchObject({ decision: 'deny', reason: 'unknown_ca' })
    await connection.closed
  })
})
