import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mtlsAgent } from '@callsign/client'
import { ConfigError } from '@callsign/core'
import { createDevCa, issueServiceCertificate } from '@callsign/mtls'
import { fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTestPki } from './support/certs.js'

// mtlsAgent with serverId: the server's SPIFFE ID must come from a CA bound to its trust domain.
// prod.example has a Callsign dev CA; partner.example an openssl-made CA, trusted for it alone.

const PROD_ORDERS = 'spiffe://prod.example/ns/prod/sa/orders'

let dir: string
let server: Server
let url: string
let files: { prodCa: string; partnerCa: string; both: string; cert: string; key: string }
let prodServer: { cert: string; key: string }
let partnerServerAsProd: { cert: string; key: string }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callsign-agent-binding-'))
  const pki = makeTestPki(dir)
  const prodCa = createDevCa({ trustDomain: 'prod.example' })
  const partnerCa = { cert: readFileSync(pki.ca, 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') }
  prodServer = issueServiceCertificate({ ca: prodCa, spiffeId: PROD_ORDERS, ipAddresses: ['127.0.0.1'] })
  partnerServerAsProd = issueServiceCertificate({
    ca: partnerCa,
    spiffeId: PROD_ORDERS,
    ipAddresses: ['127.0.0.1'],
  })
  const client = issueServiceCertificate({ ca: prodCa, spiffeId: 'spiffe://prod.example/ns/prod/sa/billing' })
  files = {
    prodCa: join(dir, 'prod-ca.crt'),
    partnerCa: pki.ca,
    both: join(dir, 'both.crt'),
    cert: join(dir, 'billing.crt'),
    key: join(dir, 'billing.key'),
  }
  await writeFile(files.prodCa, prodCa.cert)
  await writeFile(files.both, prodCa.cert + partnerCa.cert)
  await writeFile(files.cert, client.cert)
  await writeFile(files.key, client.key)
  server = createServer(prodServer, (_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await rm(dir, { recursive: true, force: true })
})

const federated = () =>
  mtlsAgent({
    cert: files.cert,
    key: files.key,
    trustDomains: { 'prod.example': { ca: files.prodCa }, 'partner.example': { ca: files.partnerCa } },
    serverId: PROD_ORDERS,
    watch: false,
  })

describe('mtlsAgent with serverId', () => {
  it('accepts the prod server holding the expected ID from the prod CA', async () => {
    server.setSecureContext(prodServer)
    const agent = federated()
    try {
      const res = await undiciFetch(url, { dispatcher: agent.dispatcher })
      expect(await res.text()).toBe('ok')
    } finally {
      await agent.close()
    }
  })

  it("refuses a partner-CA server claiming the prod server's ID", async () => {
    server.setSecureContext(partnerServerAsProd)
    const agent = federated()
    try {
      const failure = await undiciFetch(url, { dispatcher: agent.dispatcher }).catch((error: Error) => error)
      expect(failure).toBeInstanceOf(Error)
      expect((failure as Error & { cause?: { code?: string } }).cause?.code).toBe(
        'ERR_TLS_CERT_ALTNAME_INVALID',
      )
    } finally {
      await agent.close()
      server.setSecureContext(prodServer)
    }
  })

  it.each([
    [
      'a bundle of two CAs and no trust domain bound',
      () =>
        mtlsAgent({ cert: files.cert, key: files.key, ca: files.both, serverId: PROD_ORDERS, watch: false }),
      /^mtlsAgent: the "ca" bundle holds 2 CA certificates but no trust domain is bound/,
    ],
    [
      'trustDomains without a serverId',
      () =>
        mtlsAgent({
          cert: files.cert,
          key: files.key,
          trustDomains: { 'prod.example': { ca: files.prodCa } },
        }),
      /give one/,
    ],
  ])('throws ConfigError at startup for %s', (_name, make, message) => {
    expect(make).toThrow(ConfigError)
    expect(make).toThrow(message)
  })
})
