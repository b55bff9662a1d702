import { X509Certificate } from 'node:crypto'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { ConfigError } from '@callsign/core'
import {
  createDevCa,
  type DevCa,
  issueServiceCertificate,
  type ServerTls,
  tlsClientOptions,
  tlsServerOptions,
} from '@callsign/mtls'
import * as grpc from '@grpc/grpc-js'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { get } from './support/servers.js'

let root: string
let dir: string
let caOld: DevCa
let caNew: DevCa
const FAST = { pollMs: 25, debounceMs: 5 }

beforeAll(() => {
  caOld = createDevCa({ trustDomain: 'mesh.local' })
  caNew = createDevCa({ trustDomain: 'mesh.local' })
})

const files = () => ({ ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') })
const servers: Server[] = []
const handles: ServerTls[] = []

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'callsign-tls-'))
  dir = root
})
afterEach(async () => {
  for (const handle of handles.splice(0)) handle.close()
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  await rm(root, { recursive: true, force: true })
})

/** Writes a file the way atomic writers and Kubernetes do: a temporary file renamed over it. */
async function replace(path: string, text: string) {
  await writeFile(`${path}.tmp`, text)
  await rename(`${path}.tmp`, path)
}

function issue(ca: DevCa, name: string) {
  return issueServiceCertificate({
    ca,
    spiffeId: `spiffe://mesh.local/ns/prod/sa/${name}`,
    ipAddresses: ['127.0.0.1'],
  })
}

async function writeIdentity(ca: string, identity: { cert: string; key: string }) {
  await writeFile(join(dir, 'ca.crt'), ca)
  await writeFile(join(dir, 'tls.key'), identity.key)
  await writeFile(join(dir, 'tls.crt'), identity.cert)
}

async function serve(serverTls: ServerTls): Promise<string> {
  handles.push(serverTls)
  const server = createServer(serverTls.options, (_req, res) => res.end('{}'))
  serverTls.attach(server)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

/** Waits until `probe` holds; the test's own timeout bounds the wait (no timed assertion). */
async function eventually(probe: () => Promise<boolean>) {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 20))
}

const accepted = (url: string, tls: object) =>
  get(url, tls).then(
    (reply) => reply.status === 200,
    () => false,
  )

describe('tlsServerOptions', () => {
  it('requests and requires client certificates, with TLS 1.2 at least', async () => {
    const billing = issue(caOld, 'billing')
    await writeIdentity(caOld.cert, issue(caOld, 'orders'))
    const serverTls = tlsServerOptions({ ...files(), watch: false })
    expect(serverTls.options).toMatchObject({
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    })
    expect(
      tlsServerOptions({ ...files(), watch: false, clientCertificate: 'request' }).options.rejectUnauthorized,
    ).toBe(false)
    const url = await serve(serverTls)
    expect(await accepted(url, { ca: caOld.cert, ...billing, maxVersion: 'TLSv1.2' })).toBe(true)
    expect(await accepted(url, { ca: caOld.cert })).toBe(false)
  })

  it('serves a rotated certificate and key without a restart', async () => {
    const first = issue(caOld, 'orders')
    const second = issue(caOld, 'orders')
    const billing = issue(caOld, 'billing')
    await writeIdentity(caOld.cert, first)
    const url = await serve(tlsServerOptions({ ...files(), watch: FAST }))
    const served = async () => (await get(url, { ca: caOld.cert, ...billing })).serverCertificate
    expect((await served())?.equals(new X509Certificate(first.cert).raw)).toBe(true)
    await replace(join(dir, 'tls.key'), second.key)
    await replace(join(dir, 'tls.crt'), second.cert)
    await eventually(async () => (await served())?.equals(new X509Certificate(second.cert).raw) === true)
  })

  it('trusts old and new CA together while the bundle holds both, then only the new one', async () => {
    const oldClient = issue(caOld, 'billing')
    const newClient = issue(caNew, 'billing')
    await writeIdentity(caOld.cert, issue(caOld, 'orders'))
    const url = await serve(tlsServerOptions({ ...files(), trustDomain: 'mesh.local', watch: FAST }))
    const trust = { ca: caOld.cert }
    expect(await accepted(url, { ...trust, ...oldClient })).toBe(true)
    expect(await accepted(url, { ...trust, ...newClient })).toBe(false)
    await replace(join(dir, 'ca.crt'), caOld.cert + caNew.cert)
    await eventually(() => accepted(url, { ...trust, ...newClient }))
    expect(await accepted(url, { ...trust, ...oldClient })).toBe(true)
    await replace(join(dir, 'ca.crt'), caNew.cert)
    await eventually(async () => !(await accepted(url, { ...trust, ...oldClient })))
    expect(await accepted(url, { ...trust, ...newClient })).toBe(true)
  })

  it('keeps trusting a CA dropped from the bundle for previousCaTtlMs, then stops', async () => {
    const oldClient = issue(caOld, 'billing')
    const newClient = issue(caNew, 'billing')
    await writeIdentity(caOld.cert, issue(caOld, 'orders'))
    let reloads = 0
    const serverTls = tlsServerOptions({
      ...files(),
      watch: FAST,
      previousCaTtlMs: 400,
      onReload: () => reloads++,
    })
    const url = await serve(serverTls)
    const trust = { ca: caOld.cert }
    await replace(join(dir, 'ca.crt'), caNew.cert)
    await eventually(async () => reloads > 0)
    expect(serverTls.material().ca).toHaveLength(2)
    expect(await accepted(url, { ...trust, ...newClient })).toBe(true)
    expect(await accepted(url, { ...trust, ...oldClient })).toBe(true)
    await eventually(async () => !(await accepted(url, { ...trust, ...oldClient })))
    expect(serverTls.material().ca).toHaveLength(1)
  })

  it('keeps the last good certificate when a reload is invalid, and reports it', async () => {
    const first = issue(caOld, 'orders')
    await writeIdentity(caOld.cert, first)
    const errors: ConfigError[] = []
    const serverTls = tlsServerOptions({ ...files(), watch: false, onError: (error) => errors.push(error) })
    await writeFile(join(dir, 'tls.key'), issue(caOld, 'other').key)
    expect(serverTls.reload()).toBe(false)
    expect(errors[0]?.message).toMatch(/"key" \S+tls.key does not match "cert" \S+tls.crt/)
    expect(serverTls.material().cert.toString()).toBe(first.cert)
  })

  it('throws ConfigError at startup for a logger without warn(), not at the first failed reload', async () => {
    await writeIdentity(caOld.cert, issue(caOld, 'orders'))
    const logger = { info: () => {} } as never
    expect(() => tlsServerOptions({ ...files(), watch: false, logger })).toThrow(ConfigError)
    expect(() => tlsServerOptions({ ...files(), watch: false, logger })).toThrow(/"logger" must be/)
  })

  it.each([
    ['a missing file', async () => {}, /cannot read "ca" file/],
    [
      'a key that does not match',
      async () => {
        await writeIdentity(caOld.cert, { cert: issue(caOld, 'a').cert, key: issue(caOld, 'b').key })
      },
      /"key" \S+tls.key does not match "cert" \S+tls.crt/,
    ],
    [
      'a bundle holding a service certificate',
      async () => {
        const leaf = issue(caOld, 'a')
        await writeIdentity(leaf.cert, leaf)
      },
      /"ca" file .* not a CA/,
    ],
  ])('throws ConfigError at startup for %s', async (_name, prepare, message) => {
    await prepare()
    expect(() => tlsServerOptions({ ...files(), watch: false })).toThrow(ConfigError)
    expect(() => tlsServerOptions({ ...files(), watch: false })).toThrow(message)
  })
})

describe('tlsClientOptions', () => {
  it('presents the client certificate and, with serverId, accepts only a server holding that SPIFFE ID', async () => {
    await writeIdentity(caOld.cert, issue(caOld, 'orders'))
    const url = await serve(tlsServerOptions({ ...files(), watch: false }))
    const clientDir = join(root, 'client')
    await mkdir(clientDir)
    dir = clientDir
    await writeIdentity(caOld.cert, issue(caOld, 'billing'))
    const right = tlsClientOptions({
      ...files(),
      watch: false,
      serverId: 'spiffe://mesh.local/ns/prod/sa/orders',
    })
    const wrong = tlsClientOptions({
      ...files(),
      watch: false,
      serverId: 'spiffe://mesh.local/ns/prod/sa/payments',
    })
    expect((await get(url, right.options)).status).toBe(200)
    await expect(get(url, wrong.options)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    expect(right.options.minVersion).toBe('TLSv1.2')
  })
})

describe('certificateProvider (grpc-js)', () => {
  it('rotates a grpc-js server certificate without a new server through createCertificateProviderServerCredentials', async () => {
    const first = issue(caOld, 'orders')
    const second = issue(caOld, 'orders')
    const billing = issue(caOld, 'billing')
    await writeIdentity(caOld.cert, first)
    const serverTls = tlsServerOptions({ ...files(), watch: FAST })
    handles.push(serverTls)
    const provider = serverTls.certificateProvider()
    const server = new grpc.Server()
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true)
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    )
    try {
      const served = () =>
        new Promise<Buffer | undefined>((resolve) => {
          const socket = connect(
            { host: '127.0.0.1', port, ca: caOld.cert, ...billing, ALPNProtocols: ['h2'] },
            () => {
              const raw = socket.getPeerCertificate().raw
              socket.destroy()
              resolve(raw)
            },
          )
          socket.on('error', () => resolve(undefined))
        })
      expect((await served())?.equals(new X509Certificate(first.cert).raw)).toBe(true)
      await replace(join(dir, 'tls.key'), second.key)
      await replace(join(dir, 'tls.crt'), second.cert)
      await eventually(async () => (await served())?.equals(new X509Certificate(second.cert).raw) === true)
    } finally {
      server.forceShutdown()
    }
  })
})
