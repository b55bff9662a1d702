import { X509Certificate } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicyFile } from '@callsign/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { meshDir } from '../src/config.js'
import { mustCallsign } from '../src/lib/callsign.js'
import { CERT_RENEW_BEFORE, keyFile, meshPaths, provision, SERVICES } from '../src/provision.js'

// The compose file checked statically against the process mode; `pnpm test:compose` runs it for real.
interface ComposeService {
  command: string[]
  environment?: Record<string, string>
  secrets?: string[]
  ports?: string[]
  networks?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  user?: string
  image?: string
  profiles?: string[]
}
const compose = parse(readFileSync(join(meshDir, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>
  networks: Record<string, { internal?: boolean }>
  secrets: Record<string, { file: string }>
}
/** The mesh's own services; the `postgres` profile (the key store in PostgreSQL) is checked on its own. */
const services = Object.entries(compose.services).filter(
  ([, service]) => !service.profiles?.includes('postgres'),
)
const port = (url: string) => new URL(url.includes('://') ? url : `tcp://${url}`).port

let state: string
let certs: string
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'callsign-compose-'))
  state = join(root, 'state')
  certs = join(root, 'certs')
  await provision(meshPaths(state, certs), 'https://issuer:8443', () => {})
}, 180_000)

describe('examples/mesh/docker-compose.yml', () => {
  it('runs the same services as the process mode, plus the intruder', () => {
    expect(services.map(([name]) => name).sort()).toEqual([...SERVICES, 'intruder'].sort())
  })

  it('has a postgres profile: PostgreSQL on the internal network only, and a one-shot that makes the tables and copies the keys', () => {
    const { postgres, 'postgres-store': store } = compose.services
    expect(postgres?.profiles).toEqual(['postgres'])
    expect(postgres?.ports).toBeUndefined()
    expect(postgres?.networks).toEqual(['mesh'])
    expect(store?.profiles).toEqual(['postgres'])
    expect(store?.command).toEqual(['node', 'dist/migrate-store.js'])
    expect(existsSync(join(meshDir, 'src/migrate-store.ts'))).toBe(true)
    expect(store?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
    // Without the profile's variable, every service keeps the file store.
    for (const [name, service] of services) {
      if (service.environment?.KEY_STORE !== undefined)
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a compose variable, not a template
        expect(service.environment.KEY_STORE, name).toBe('${MESH_KEY_STORE:-/store/keys.json}')
    }
  })

  it('starts each service from its compiled script, whose source exists', () => {
    for (const [name, service] of services) {
      const script = service.command.at(-1) ?? ''
      expect(service.command, name).toEqual(['node', script])
      const source = script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')
      expect(existsSync(join(meshDir, source)), `${name}: ${source}`).toBe(true)
      if (name !== 'intruder') expect(script).toBe(`dist/services/${name}.js`)
    }
  })

  it('checks the health of every service, and starts each after what it calls is healthy', () => {
    const calls: Record<string, string[]> = {
      issuer: [],
      inventory: ['issuer'],
      billing: ['issuer'],
      orders: ['issuer', 'billing', 'inventory'],
      gateway: ['issuer', 'orders'],
      intruder: ['gateway', 'orders', 'billing', 'inventory'],
    }
    for (const [name, service] of services) {
      if (name !== 'intruder')
        expect(service.healthcheck?.test.slice(0, 3), name).toEqual(['CMD', 'node', 'dist/healthcheck.js'])
      expect(Object.keys(service.depends_on ?? {}).sort(), name).toEqual(calls[name]?.sort())
      for (const dependency of Object.values(service.depends_on ?? {}))
        expect(dependency.condition).toBe('service_healthy')
    }
    expect(compose.services.intruder?.profiles).toEqual(['intruder'])
  })

  it('gives each protected service the policy file the process mode uses, and each one is valid', () => {
    for (const name of ['gateway', 'orders', 'billing', 'inventory']) {
      expect(compose.services[name]?.environment?.POLICY_FILE, name).toBeUndefined()
      expect(() => loadPolicyFile(join(meshDir, 'policies', `${name}.policy.yaml`))).not.toThrow()
    }
  })

  it('publishes only the gateway, on loopback, and keeps everything else on an internal network', () => {
    for (const [name, service] of services) {
      expect(service.networks, name).toContain('mesh')
      if (name !== 'gateway') expect(service.ports, name).toBeUndefined()
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation
    expect(compose.services.gateway?.ports).toEqual(['127.0.0.1:${MESH_GATEWAY_PORT:-8080}:8080'])
    expect(compose.networks.mesh?.internal).toBe(true)
  })

  it("serves every service's metrics on the internal network, published nowhere", () => {
    for (const [name, service] of services) {
      if (name === 'intruder') continue
      expect(service.environment?.METRICS_PORT, name).toBe('9464')
      expect(service.environment?.HOST, name).toBe('0.0.0.0')
      for (const published of service.ports ?? []) expect(published, name).not.toContain('9464')
    }
    expect(compose.services.intruder?.environment?.METRICS_PORT).toBeUndefined()
  })

  it('points every service at the ports the others listen on', () => {
    const env = (name: string) => compose.services[name]?.environment ?? {}
    for (const [name, service] of services) {
      const e = service.environment ?? {}
      if (e.ISSUER_URL) expect(port(e.ISSUER_URL), name).toBe(env('issuer').PORT)
      if (e.ORDERS_URL) expect(port(e.ORDERS_URL), name).toBe(env('orders').PORT)
      if (e.BILLING_URL) expect(port(e.BILLING_URL), name).toBe(env('billing').PORT)
      if (e.INVENTORY_ADDRESS) expect(port(e.INVENTORY_ADDRESS), name).toBe(env('inventory').PORT)
      if (e.GATEWAY_URL) expect(port(e.GATEWAY_URL), name).toBe(env('gateway').PORT)
    }
  })

  it('mounts credentials as secret directories, each declared and provisioned, never a CA key', () => {
    const local = (file: string) =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation
      file.replace('${MESH_CERTS:-../../certs-dev}', certs).replace('${MESH_STATE:-./.state}', state)
    for (const [name, service] of services) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (!value.startsWith('/run/secrets/')) continue
        const [secret = '', ...rest] = value.slice('/run/secrets/'.length).split('/')
        expect(service.secrets, `${name} ${variable}`).toContain(secret)
        const source = compose.secrets[secret]?.file ?? ''
        expect(existsSync(join(local(source), ...rest)), `${name} ${variable}: ${source}`).toBe(true)
      }
    }
    for (const [secret, { file }] of Object.entries(compose.secrets)) {
      expect(statSync(local(file)).isDirectory(), `${secret}: ${file}`).toBe(true)
      expect(existsSync(join(local(file), 'ca.key')), secret).toBe(false)
    }
  })

  it("gives billing the CA's revocation list, from a folder that holds nothing else", () => {
    expect(compose.services.billing?.environment?.TLS_CRL).toBe('/run/secrets/ca_crl/ca.crl')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own interpolation
    expect(compose.secrets.ca_crl?.file).toBe('${MESH_CERTS:-../../certs-dev}/crl')
    expect(readdirSync(join(certs, 'crl'))).toEqual(['ca.crl'])
  })

  it('never passes a secret in an environment variable', () => {
    for (const [name, service] of services) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        expect(value, `${name} ${variable}`).not.toMatch(/csk_|BEGIN|eyJ/)
      }
    }
  })

  it('builds one image: compiled JavaScript and production dependencies, run as a non-root user', () => {
    const dockerfile = readFileSync(join(meshDir, 'Dockerfile'), 'utf8')
    const [build = '', runtime = ''] = dockerfile
      .split(/^(?=FROM )/m)
      .filter((stage) => stage.startsWith('FROM'))
    expect(build).toMatch(/^FROM node:20-slim AS build$/m)
    expect(build).toContain('npm install -g pnpm@12.4.2')
    expect(build).toContain('pnpm install --frozen-lockfile')
    expect(build).toContain('deploy --prod /out/app')
    expect(runtime).toMatch(/^FROM node:20-slim$/m)
    expect(runtime).toMatch(/^USER node$/m)
    expect(runtime).not.toMatch(/^RUN /m)
    expect(runtime).not.toContain('tsx')
    expect(new Set(services.map(([, service]) => service.image))).toEqual(new Set(['callsign-mesh']))
  })

  it('sends only the sources to the image build: no key, certificate or state', () => {
    const ignore = readFileSync(join(meshDir, '..', '..', '.dockerignore'), 'utf8').split('\n')
    expect(ignore.find((line) => line && !line.startsWith('#'))).toBe('*')
    for (const pattern of ['**/.state', '**/*.key', '**/*.pem', '**/node_modules'])
      expect(ignore).toContain(pattern)
    expect(ignore.filter((line) => line.startsWith('!'))).not.toContain('!certs-dev')
  })
})

describe('provisioning for compose', () => {
  const fingerprint = (service: string) =>
    new X509Certificate(readFileSync(join(certs, service, 'tls.crt'))).fingerprint256
  const validTo = (service: string) =>
    Date.parse(new X509Certificate(readFileSync(join(certs, service, 'tls.crt'))).validTo)

  it('is idempotent, and renews a certificate close to expiry', { timeout: 180_000 }, async () => {
    const before = Object.fromEntries(SERVICES.map((service) => [service, fingerprint(service)]))
    const keyBefore = readFileSync(keyFile(meshPaths(state, certs), 'gateway'), 'utf8')
    await provision(meshPaths(state, certs), 'https://issuer:8443', () => {})
    expect(Object.fromEntries(SERVICES.map((service) => [service, fingerprint(service)]))).toEqual(before)
    expect(readFileSync(keyFile(meshPaths(state, certs), 'gateway'), 'utf8')).toBe(keyBefore)

    // billing's certificate with one day left is issued again; the others are kept
    await mustCallsign(['certs', 'issue', 'billing', '--dir', certs, '--namespace', 'shop', '--days', '1'])
    const shortLived = fingerprint('billing')
    await provision(meshPaths(state, certs), 'https://issuer:8443', () => {})
    expect(fingerprint('billing')).not.toBe(shortLived)
    expect(validTo('billing') - Date.now()).toBeGreaterThan(CERT_RENEW_BEFORE)
    expect(fingerprint('orders')).toBe(before.orders)
  })
})
