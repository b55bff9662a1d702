import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { type AuditEvent, createPipeline, definePolicy, type TlsPeer } from '@callsign/core'
import { httpRefusal } from '@callsign/core/adapter'
import { auth as grpcAuth, getCaller as grpcGetCaller } from '@callsign/grpc'
import { jwtVerifier, mintToken } from '@callsign/jwt'
import {
  createDevCa,
  issueServiceCertificate,
  mtlsVerifier,
  type ServerTls,
  type ServiceCertificate,
  tlsServerOptions,
} from '@callsign/mtls'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// RFC 8705: a token carrying cnf["x5t#S256"] is accepted only over mTLS with exactly that
// certificate. The JWT verifier checks the binding; the mTLS verifier's credentialId is the same
// thumbprint, so the pipeline counts the token and its certificate as one credential.

const ISSUER = 'https://issuer.test'
const BILLING = 'spiffe://mesh.local/ns/prod/sa/billing'
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })

let dir: string
let ca: ReturnType<typeof createDevCa>
let billing: ServiceCertificate
let shipping: ServiceCertificate
let serverTls: ServerTls
const audit: AuditEvent[] = []
let https: Server
let httpsUrl: string
let grpcServer: grpc.Server
let grpcPort: number

const verifiers = () => [
  mtlsVerifier({ identity: 'spiffe', serverTls, trustDomains: ['mesh.local'] }),
  jwtVerifier({ issuer: ISSUER, audience: 'orders', keys: [publicKey] }),
]

const token = (thumbprint?: string) =>
  mintToken({
    key: { alg: 'ES256', privateKey },
    issuer: ISSUER,
    subject: BILLING,
    audience: 'orders',
    scopes: ['orders:read'],
    ttl: 300,
    ...(thumbprint ? { certificateThumbprint: thumbprint } : {}),
  })

function tlsPeer(socket: TLSSocket): TlsPeer {
  return {
    authorized: socket.authorized,
    ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
    peerCertificateChain: () => {
      const leaf = socket.getPeerCertificate()?.raw
      return leaf ? [leaf] : []
    },
    connection: socket,
  }
}

const protoFile = fileURLToPath(new URL('./adapters/fixtures/contract.proto', import.meta.url))
const Orders = (
  grpc.loadPackageDefinition(loadSync(protoFile)) as unknown as {
    contract: { v1: { Orders: grpc.ServiceClientConstructor } }
  }
).contract.v1.Orders

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-binding-'))
  ca = createDevCa({ trustDomain: 'mesh.local' })
  const server = issueServiceCertificate({
    ca,
    spiffeId: 'spiffe://mesh.local/ns/prod/sa/orders',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  })
  billing = issueServiceCertificate({ ca, spiffeId: BILLING })
  shipping = issueServiceCertificate({ ca, spiffeId: 'spiffe://mesh.local/ns/prod/sa/shipping' })
  await writeFile(join(dir, 'ca.crt'), ca.cert)
  await writeFile(join(dir, 'tls.crt'), server.cert)
  await writeFile(join(dir, 'tls.key'), server.key)
  serverTls = tlsServerOptions({
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
    clientCertificate: 'request',
    watch: false,
  })

  const pipeline = createPipeline({
    policy: definePolicy({ routes: { 'GET /orders': ['orders:read'] } }),
    verifiers: verifiers(),
    audit: (event) => audit.push(event),
  })
  https = createServer(serverTls.options, async (req, res) => {
    const decision = await pipeline.decide({
      transport: 'http',
      method: req.method ?? 'GET',
      route: req.url ?? '/',
      header: (name) => {
        const value = req.headers[name]
        return value === undefined ? [] : Array.isArray(value) ? value : [value]
      },
      tls: tlsPeer(req.socket as TLSSocket),
    })
    if (decision.allowed) {
      res.end(JSON.stringify({ caller: decision.caller?.id, kind: decision.caller?.kind }))
      return
    }
    const refusal = httpRefusal(decision.error)
    res.writeHead(refusal.status, refusal.headers).end(JSON.stringify(refusal.body))
  })
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
  httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}/orders`

  const interceptor = grpcAuth({
    services: [Orders.service],
    policy: definePolicy({
      routes: {
        '/contract.v1.Orders/Get': ['orders:read'],
        '/contract.v1.Orders/Create': ['orders:write'],
        '/contract.v1.Orders/Health': 'public',
        '/contract.v1.Orders/Unmapped': 'public',
      },
    }),
    verifiers: verifiers(),
    audit: (event) => audit.push(event),
  })
  grpcServer = new grpc.Server({ interceptors: [interceptor] })
  const handler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
    callback(null, { caller: grpcGetCaller(call).id })
  grpcServer.addService(Orders.service, { Get: handler, Create: handler, Health: handler, Unmapped: handler })
  const m = serverTls.material()
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.concat(m.ca),
    [{ private_key: m.key, cert_chain: m.cert }],
    true,
  )
  grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  )
})

afterAll(async () => {
  https?.closeAllConnections()
  await new Promise((resolve) => https?.close(resolve))
  grpcServer?.forceShutdown()
  serverTls?.close()
  await rm(dir, { recursive: true, force: true })
})

function httpsGet(
  bearer: string,
  client?: ServiceCertificate,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      httpsUrl,
      {
        ca: ca.cert,
        ...(client ? { cert: client.cert, key: client.key } : {}),
        agent: false,
        headers: { authorization: `Bearer ${bearer}` },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

function grpcGet(bearer: string, client: ServiceCertificate): Promise<{ code: number; caller?: string }> {
  const stub = new Orders(
    `localhost:${grpcPort}`,
    grpc.credentials.createSsl(Buffer.from(ca.cert), Buffer.from(client.key), Buffer.from(client.cert)),
  )
  const metadata = new grpc.Metadata()
  metadata.set('authorization', `Bearer ${bearer}`)
  return new Promise((resolve) => {
    ;(stub as unknown as Record<string, (...args: unknown[]) => void>).Get!.call(
      stub,
      { id: '1' },
      metadata,
      (error: grpc.ServiceError | null, reply: { caller: string }) => {
        stub.close()
        resolve(error ? { code: error.code } : { code: 0, caller: reply.caller })
      },
    )
  })
}

describe('certificate-bound access tokens (RFC 8705)', () => {
  it('accepts a bound token over mTLS with exactly that certificate, as one credential (HTTP)', async () => {
    const reply = await httpsGet(await token(billing.thumbprint), billing)
    expect(reply).toEqual({ status: 200, body: { caller: BILLING, kind: 'jwt' } })
  })

  it('refuses a bound token over mTLS with another valid certificate with 401 (reason certificate_binding) (HTTP)', async () => {
    const reply = await httpsGet(await token(billing.thumbprint), shipping)
    expect(reply.status).toBe(401)
    expect(reply.body.code).toBe('ERR_INVALID_CREDENTIAL')
    expect(audit.at(-1)?.reason).toBe('certificate_binding')
  })

  it('refuses a bound token sent without a client certificate with 401 (HTTP)', async () => {
    const reply = await httpsGet(await token(billing.thumbprint))
    expect(reply.status).toBe(401)
    expect(audit.at(-1)?.reason).toBe('certificate_binding')
  })

  it('accepts a bound token with its certificate and refuses it with another, 16 UNAUTHENTICATED (gRPC)', async () => {
    const bound = await token(billing.thumbprint)
    expect(await grpcGet(bound, billing)).toEqual({ code: 0, caller: BILLING })
    expect(await grpcGet(bound, shipping)).toEqual({ code: grpc.status.UNAUTHENTICATED })
    expect(audit.at(-1)).toMatchObject({ transport: 'grpc', reason: 'certificate_binding' })
  })
})
