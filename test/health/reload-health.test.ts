import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyVerifier, createApiKey, fileKeyStore } from '@callsign/api-key'
import { createPipeline, definePolicy } from '@callsign/core'
import { createDevCa, issueServiceCertificate, mtlsVerifier, tlsServerOptions } from '@callsign/mtls'
import { afterAll, describe, expect, it } from 'vitest'
import { postToken, startIssuer } from '../../packages/issuer/test/support/issuer-fixture.js'
import { inMemoryMetrics } from '../support/in-memory-metrics.js'

// The key store's and the TLS material's health and reload metrics, through pipeline.health(),
// over real files (a good load, a bad file kept out, a good one again), and the issuer's token
// counter over its real HTTP endpoint. The SDK's in-memory metric exporter reads the points.
const meter = inMemoryMetrics()
afterAll(() => meter.shutdown())
const points = (name: string) => meter.points(name)

const dir = mkdtempSync(join(tmpdir(), 'callsign-reload-health-'))
const policy = definePolicy({ routes: {} })

describe('the key store in pipeline.health() and its reload metrics', () => {
  it('is ok when loaded, degraded while a bad file is kept out, ok again after a good reload', async () => {
    const path = join(dir, 'keys.json')
    const store = fileKeyStore(path, { watch: false, onError: () => {} })
    await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const pipeline = createPipeline({ policy, verifiers: [apiKeyVerifier({ store })] })
    expect(pipeline.health()).toMatchObject({
      status: 'ok',
      components: {
        'verifier:api-key': {
          status: 'ok',
          store: { status: 'ok', keys: 1, loadedAt: expect.any(String), lastReloadError: null },
        },
      },
    })

    const good = readFileSync(path, 'utf8')
    writeFileSync(path, '{ not json')
    expect(store.reload()).toBe(false)
    expect(pipeline.health()).toMatchObject({
      status: 'degraded',
      components: {
        'verifier:api-key': {
          status: 'degraded',
          store: { keys: 1, lastReloadError: { error: 'invalid_store_file', at: expect.any(String) } },
        },
      },
    })
    writeFileSync(path, good)
    expect(store.reload()).toBe(true)
    expect(pipeline.health().status).toBe('ok')

    expect(await points('callsign.key_store.reloads')).toEqual(
      expect.arrayContaining([
        {
          attributes: { 'callsign.reload.outcome': 'failure', 'error.type': 'invalid_store_file' },
          value: 1,
        },
        { attributes: { 'callsign.reload.outcome': 'success' }, value: 1 },
      ]),
    )
    const [lastSuccess] = await points('callsign.key_store.reload.last_success')
    expect(lastSuccess?.value).toBe(Math.floor(Date.parse(store.health().loadedAt as string) / 1000))
    store.close()
  })
})

describe('the TLS material in pipeline.health() and its reload metrics', () => {
  it('reports the certificate and CA expiry, and a failed reload as degraded', async () => {
    const ca = createDevCa({ trustDomain: 'mesh.local' })
    const server = issueServiceCertificate({ ca, spiffeId: 'spiffe://mesh.local/ns/test/sa/orders' })
    const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }
    writeFileSync(files.ca, ca.cert)
    writeFileSync(files.cert, server.cert)
    writeFileSync(files.key, server.key, { mode: 0o600 })
    const serverTls = tlsServerOptions({ ...files, watch: false, onError: () => {} })
    const pipeline = createPipeline({
      policy,
      verifiers: [mtlsVerifier({ identity: 'spiffe', serverTls, trustDomains: ['mesh.local'] })],
    })
    const notAfter = (pem: string) => new Date(new X509Certificate(pem).validTo)
    expect(pipeline.health()).toEqual({
      status: 'ok',
      components: {
        'verifier:mtls': {
          status: 'ok',
          loadedAt: expect.any(String),
          certificateExpiresAt: notAfter(server.cert).toISOString(),
          caExpiresAt: notAfter(ca.cert).toISOString(),
          lastReloadError: null,
        },
      },
    })

    writeFileSync(files.key, createDevCa({ trustDomain: 'other.local' }).key) // a key that does not match
    expect(serverTls.reload()).toBe(false)
    expect(pipeline.health()).toMatchObject({
      status: 'degraded',
      components: { 'verifier:mtls': { lastReloadError: { error: 'invalid_tls_files' } } },
    })
    writeFileSync(files.key, server.key)
    expect(serverTls.reload()).toBe(true)
    expect(pipeline.health().status).toBe('ok')
    expect(await points('callsign.tls_material.reloads')).toEqual(
      expect.arrayContaining([
        { attributes: { 'callsign.reload.outcome': 'failure', 'error.type': 'invalid_tls_files' }, value: 1 },
        { attributes: { 'callsign.reload.outcome': 'success' }, value: 1 },
      ]),
    )
    serverTls.close()
  })
})

describe("the issuer's token counter", () => {
  it('counts issued tokens by client, grant and credential kind, and no refusal', async () => {
    const fx = await startIssuer()
    try {
      const { key } = await fx.key('billing', ['orders:read'])
      const grant = { grant_type: 'client_credentials', audience: 'orders' }
      expect((await postToken(fx.url, grant, { authorization: `Bearer ${key}` })).status).toBe(200)
      expect((await postToken(fx.url, grant, { authorization: `Bearer ${key}` })).status).toBe(200)
      expect((await postToken(fx.url, grant, { authorization: 'Bearer csk_nope_nope' })).status).toBe(401)
      const found = await points('callsign.issuer.tokens')
      expect(found).toEqual([
        {
          attributes: {
            'callsign.client.id': 'billing',
            'callsign.issuer.grant_type': 'client_credentials',
            'callsign.credential.kind': 'api-key',
          },
          value: 2,
        },
      ])
      expect(JSON.stringify(found)).not.toContain(key.split('_').at(-1)!)
    } finally {
      await fx.close()
    }
  })
})
