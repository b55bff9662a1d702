import { X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { apiKeyVerifier, createApiKey, type FileKeyStore, fileKeyStore } from '@callsign/api-key'
import { createPipeline, definePolicy } from '@callsign/core'
import { reloadableFile } from '@callsign/core/adapter'
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

    const file = { 'callsign.reload.file': `${basename(dir)}/keys.json` }
    expect(await points('callsign.key_store.reloads')).toEqual(
      expect.arrayContaining([
        {
          attributes: { ...file, 'callsign.reload.outcome': 'failure', 'error.type': 'invalid_store_file' },
          value: 1,
        },
        { attributes: { ...file, 'callsign.reload.outcome': 'success' }, value: 1 },
      ]),
    )
    expect(await points('callsign.key_store.reload.last_success')).toContainEqual({
      attributes: file,
      value: Math.floor(Date.parse(store.health().loadedAt as string) / 1000),
    })
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
    const file = { 'callsign.reload.file': `${basename(dir)}/tls.crt` }
    expect(await points('callsign.tls_material.reloads')).toEqual(
      expect.arrayContaining([
        {
          attributes: { ...file, 'callsign.reload.outcome': 'failure', 'error.type': 'invalid_tls_files' },
          value: 1,
        },
        { attributes: { ...file, 'callsign.reload.outcome': 'success' }, value: 1 },
      ]),
    )
    serverTls.close()
  })
})

describe('two reloaders of one kind in one process', () => {
  it("are two series, told apart by their file's folder and name, never the whole path", async () => {
    const stores = ['partners', 'internal'].map((folder) => {
      mkdirSync(join(dir, folder))
      return fileKeyStore(join(dir, folder, 'keys.json'), { watch: false, onError: () => {} })
    })
    const [partners, internal] = stores as [FileKeyStore, FileKeyStore]
    await createApiKey(partners, { owner: 'storefront', scopes: ['shop:read'] }) // writes the file
    writeFileSync(join(dir, 'internal', 'keys.json'), '{ not json')
    expect(internal.reload()).toBe(false)
    expect(partners.reload()).toBe(true)

    const reloads = (await points('callsign.key_store.reloads')).filter(({ attributes }) =>
      ['partners/keys.json', 'internal/keys.json'].includes(String(attributes['callsign.reload.file'])),
    )
    expect(reloads).toEqual([
      {
        attributes: {
          'callsign.reload.file': 'internal/keys.json',
          'callsign.reload.outcome': 'failure',
          'error.type': 'invalid_store_file',
        },
        value: 1,
      },
      {
        attributes: { 'callsign.reload.file': 'partners/keys.json', 'callsign.reload.outcome': 'success' },
        value: 1,
      },
    ])
    const lastSuccess = await points('callsign.key_store.reload.last_success')
    for (const folder of ['partners', 'internal']) {
      expect(lastSuccess).toContainEqual({
        attributes: { 'callsign.reload.file': `${folder}/keys.json` },
        value: expect.any(Number),
      })
    }
    expect(JSON.stringify(await meter.everything())).not.toContain(dir)
    for (const store of stores) store.close()
  })
})

describe('a reloadable file of your own, with telemetry', () => {
  it("is labelled by its first path's folder and name, or by telemetry.file", () => {
    const folder = join(dir, 'acme')
    mkdirSync(folder)
    const paths = [join(folder, 'partners.json'), join(folder, 'extra.json')]
    for (const path of paths) writeFileSync(path, '{}')
    const load = () => JSON.parse(readFileSync(paths[0]!, 'utf8')) as unknown
    const byDefault = reloadableFile({
      paths,
      load,
      watch: false,
      onError: () => {},
      telemetry: { meter: '@acme/partners', part: 'partners' },
    })
    const named = reloadableFile({
      paths,
      load,
      watch: false,
      onError: () => {},
      telemetry: { meter: '@acme/partners', part: 'partners', file: paths[1]! },
    })
    expect(byDefault.reload()).toBe(true)
    expect(named.reload()).toBe(true)
    return expect(points('callsign.partners.reloads')).resolves.toEqual([
      {
        attributes: {
          'callsign.reload.file': 'acme/partners.json',
          'callsign.reload.outcome': 'success',
        },
        value: 1,
      },
      {
        attributes: { 'callsign.reload.file': 'acme/extra.json', 'callsign.reload.outcome': 'success' },
        value: 1,
      },
    ])
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
