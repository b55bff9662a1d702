import { readFileSync } from 'node:fs'
import { copyFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { type MtlsAgent, mtlsAgent, tokenCredentials, withCredentials } from '@callsign/client'
import { ConfigError } from '@callsign/core'
import { fetch as undiciFetch } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { makeTestPki, type TestPki } from './support/certs.js'
import { startTokenEndpoint } from './support/token-endpoint.js'

let dir: string
let pki: TestPki
let server: Server
let base: string
const agents: MtlsAgent[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-client-mtls-'))
  pki = makeTestPki(dir)
  // A real HTTPS server that requires a client certificate from our CA and answers with its CN.
  // `connection: close` makes every request a new connection, so a reloaded certificate shows at once.
  server = createServer(
    {
      cert: readFileSync(pki.server.cert),
      key: readFileSync(pki.server.key),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate()
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' })
      res.end(String(peer.subject?.CN))
    },
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close()
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await rm(dir, { recursive: true, force: true })
})

/** The client's own files, which the test rotates. */
async function clientFiles(name: string) {
  const folder = await mkdtemp(join(dir, `${name}-`))
  const files = { cert: join(folder, 'tls.crt'), key: join(folder, 'tls.key'), ca: join(folder, 'ca.crt') }
  await copyFile(pki.clientA.cert, files.cert)
  await copyFile(pki.clientA.key, files.key)
  await copyFile(pki.ca, files.ca)
  return files
}
const track = (agent: MtlsAgent) => {
  agents.push(agent)
  return agent
}

describe('mtlsAgent', () => {
  it('presents the client certificate to a server that requires one (undici fetch)', async () => {
    const agent = track(mtlsAgent(await clientFiles('present')))
    const res = await undiciFetch(`${base}/whoami`, { dispatcher: agent.dispatcher })
    expect(await res.text()).toBe('client-a')
  })

  it('is refused by the server without it (the test server really requires a client certificate)', async () => {
    const { Agent } = await import('undici')
    const plain = new Agent({ connect: { ca: readFileSync(pki.ca) } })
    await expect(undiciFetch(`${base}/whoami`, { dispatcher: plain })).rejects.toThrow()
    await plain.close()
  })

  it('picks up a rotated certificate and key for new connections, without a restart', async () => {
    const files = await clientFiles('rotate')
    const reloads: number[] = []
    const agent = track(mtlsAgent({ ...files, onReload: () => reloads.push(1), onError: () => {} }))
    const f = withCredentials(undiciFetch, agent)
    expect(await (await f(`${base}/whoami`)).text()).toBe('client-a')
    // atomic writers: the key first, then the certificate (a mismatch in between keeps the old pair)
    await copyFile(pki.clientB.key, `${files.key}.new`)
    await rename(`${files.key}.new`, files.key)
    await copyFile(pki.clientB.cert, `${files.cert}.new`)
    await rename(`${files.cert}.new`, files.cert)
    await vi.waitFor(() => expect(reloads.length).toBeGreaterThan(0), { timeout: 5_000, interval: 20 })
    expect(await (await f(`${base}/whoami`)).text()).toBe('client-b')
  })

  it('keeps the last good certificate when the new key does not match it, and reports why', async () => {
    const files = await clientFiles('mismatch')
    const errors: ConfigError[] = []
    const agent = track(mtlsAgent({ ...files, watch: false, onError: (e) => errors.push(e) }))
    await copyFile(pki.clientB.key, files.key)
    expect(agent.reload()).toBe(false)
    expect(errors[0]).toBeInstanceOf(ConfigError)
    expect(errors[0]!.message).toContain(files.key)
    expect(errors[0]!.message).not.toContain('PRIVATE KEY')
    const res = await undiciFetch(`${base}/whoami`, { dispatcher: agent.dispatcher })
    expect(await res.text()).toBe('client-a')
  })

  it.each([
    ['cert', { cert: '/nonexistent/tls.crt' }, /"cert" file \/nonexistent\/tls.crt/],
    ['key', { key: '/nonexistent/tls.key' }, /"key" file/],
    ['ca', { ca: '' }, /"ca" must be a file path/],
  ])('throws ConfigError at startup for an unreadable %s file', async (_name, override, message) => {
    const files = await clientFiles('bad')
    expect(() => mtlsAgent({ ...files, ...override })).toThrow(ConfigError)
    expect(() => mtlsAgent({ ...files, ...override })).toThrow(message)
  })

  it('throws ConfigError at startup for a key that does not match the certificate', async () => {
    const files = await clientFiles('pair')
    await copyFile(pki.clientB.key, files.key)
    expect(() => mtlsAgent(files)).toThrow(
      `mtlsAgent: "key" ${files.key} does not match "cert" ${files.cert}`,
    )
    await writeFile(files.cert, 'not a certificate')
    expect(() => mtlsAgent(files)).toThrow(ConfigError)
  })

  it('authenticates to the token endpoint with the certificate (RFC 8705 tls_client_auth, client_id in the body)', async () => {
    const endpoint = await startTokenEndpoint({
      cert: readFileSync(pki.server.cert),
      key: readFileSync(pki.server.key),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
    })
    try {
      endpoint.reply({ kind: 'token', token: 'bound-#', expiresIn: 300 })
      const agent = track(mtlsAgent(await clientFiles('token')))
      const tokens = tokenCredentials({
        tokenUrl: endpoint.url,
        client: agent,
        clientId: 'client-a',
        audience: 'orders',
      })
      expect(await tokens.authorization()).toBe('Bearer bound-1')
      expect(tokens.dispatcher).toBe(agent.dispatcher)
      const [seen] = endpoint.requests
      expect(seen!.peerCn).toBe('client-a')
      expect(seen!.headers.authorization).toBeUndefined()
      expect(seen!.form.get('client_id')).toBe('client-a')
    } finally {
      await endpoint.close()
    }
  })
})
