import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyCredentials, fileSecret, tokenCredentials } from '@callsign/client'
import { grpcCredentials } from '@callsign/client/grpc'
import { ConfigError } from '@callsign/core'
import {
  credentials,
  Metadata,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonUnaryMethod } from '../../../test/support/json-unary-method.js'
import { makeTestPki, type TestPki } from './support/certs.js'

/** A one-method service defined with grpc-js generic definitions (JSON on the wire): it echoes the metadata. */
const EchoService: ServiceDefinition = { whoAmI: jsonUnaryMethod('/callsign.test.Echo/WhoAmI') }
const EchoClient = makeGenericClientConstructor(EchoService, 'Echo')
/** The test server's certificate names localhost; Node warns about an IP address as TLS server name. */
const TLS_NAME = { 'grpc.ssl_target_name_override': 'localhost' }

let dir: string
let pki: TestPki
let keyFile: string
let tlsServer: Server
let plainServer: Server
let tlsPort: number
let plainPort: number
const received: Metadata[] = []

async function start(creds: ServerCredentials): Promise<[Server, number]> {
  const server = new Server()
  server.addService(EchoService, {
    whoAmI: (call: { metadata: Metadata }, callback: (e: null, v: unknown) => void) => {
      received.push(call.metadata)
      callback(null, { authorization: call.metadata.get('authorization').map(String) })
    },
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (error, p) => (error ? reject(error) : resolve(p))),
  )
  return [server, port]
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-client-grpc-'))
  pki = makeTestPki(dir)
  keyFile = join(dir, 'key')
  await writeFile(keyFile, 'csk_grpc_secret\n')
  ;[tlsServer, tlsPort] = await start(
    ServerCredentials.createSsl(null, [
      { cert_chain: readFileSync(pki.server.cert), private_key: readFileSync(pki.server.key) },
    ]),
  )
  ;[plainServer, plainPort] = await start(ServerCredentials.createInsecure())
})
afterAll(async () => {
  tlsServer.forceShutdown()
  plainServer.forceShutdown()
  await rm(dir, { recursive: true, force: true })
})

const apiKey = () => apiKeyCredentials(fileSecret(keyFile, { watch: false }))

function call(client: InstanceType<typeof EchoClient>): Promise<{ authorization: string[] }> {
  return new Promise((resolve, reject) => {
    ;(client as unknown as Record<string, (...a: unknown[]) => void>).whoAmI!(
      {},
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (error: ServiceError | null, value: { authorization: string[] }) =>
        error ? reject(error) : resolve(value),
    )
  })
}

describe('grpcCredentials', () => {
  it('sends the credential as authorization metadata over a TLS channel (call credentials)', async () => {
    const g = grpcCredentials(apiKey(), { channel: credentials.createSsl(readFileSync(pki.ca)) })
    const client = new EchoClient(`127.0.0.1:${tlsPort}`, g.credentials, { ...g.options, ...TLS_NAME })
    try {
      expect(await call(client)).toEqual({ authorization: ['Bearer csk_grpc_secret'] })
    } finally {
      client.close()
    }
  })

  it('sends the credential over plaintext to a loopback sidecar (interceptor mode)', async () => {
    const g = grpcCredentials(apiKey(), { insecureLoopback: `127.0.0.1:${plainPort}` })
    const client = new EchoClient(g.target!, g.credentials, g.options)
    try {
      expect(await call(client)).toEqual({ authorization: ['Bearer csk_grpc_secret'] })
      expect(await call(client)).toEqual({ authorization: ['Bearer csk_grpc_secret'] })
    } finally {
      client.close()
    }
  })

  it.each([
    ['a TLS channel', 'tls'],
    ['a loopback sidecar', 'loopback'],
  ])(
    'ends the call with UNAVAILABLE and the ClientError code when no token can be had (%s)',
    async (_n, mode) => {
      const tokens = tokenCredentials({
        tokenUrl: 'http://127.0.0.1:1/token',
        client: apiKey(),
        timeoutMs: 2_000,
      })
      const g =
        mode === 'tls'
          ? grpcCredentials(tokens, { channel: credentials.createSsl(readFileSync(pki.ca)) })
          : grpcCredentials(tokens, { insecureLoopback: `127.0.0.1:${plainPort}` })
      const client = new EchoClient(`127.0.0.1:${mode === 'tls' ? tlsPort : plainPort}`, g.credentials, {
        ...g.options,
        ...TLS_NAME,
      })
      const before = received.length
      try {
        const error = (await call(client).catch((e: unknown) => e)) as ServiceError
        expect(error.code).toBe(status.UNAVAILABLE)
        expect(error.details).toContain('ERR_TOKEN_ENDPOINT_UNAVAILABLE')
        expect(error.details).not.toContain('csk_grpc_secret')
        expect(received.length).toBe(before)
      } finally {
        client.close()
      }
    },
  )

  it.each([
    '10.0.0.5:50051',
    'orders.internal:443',
    'dns://8.8.8.8/localhost:50051',
    'ipv4:127.0.0.1:1,10.0.0.1:1',
    '[2001:db8::1]:443',
    'xds:///orders',
    '',
  ])('refuses plaintext to the non-loopback target %j with ConfigError', (target) => {
    expect(() => grpcCredentials(apiKey(), { insecureLoopback: target })).toThrow(ConfigError)
  })

  it.each([
    '127.0.0.1:15001',
    'localhost:15001',
    '[::1]:15001',
    'dns:///localhost:15001',
    'ipv4:127.0.0.1:1,127.0.0.2:1',
    'ipv6:[::1]:15001',
    'unix:/run/sidecar.sock',
  ])('accepts the loopback target %j', (target) => {
    expect(grpcCredentials(apiKey(), { insecureLoopback: target }).target).toBe(target)
  })

  it('refuses insecure channel credentials in channel mode, pointing at insecureLoopback', () => {
    expect(() => grpcCredentials(apiKey(), { channel: credentials.createInsecure() })).toThrow(
      /insecureLoopback/,
    )
  })
})
