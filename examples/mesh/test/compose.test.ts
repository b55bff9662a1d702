import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPolicyFile } from '@callsign/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { meshDir } from '../src/config.js'
import { meshPaths, provision, SERVICES } from '../src/provision.js'

// No Docker engine runs here: the compose file is checked statically against the process mode.
interface ComposeService {
  command: string[]
  environment?: Record<string, string>
  secrets?: string[]
  ports?: string[]
  networks?: string[]
  depends_on?: unknown
}
const compose = parse(readFileSync(join(meshDir, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>
  networks: Record<string, { internal?: boolean }>
  secrets: Record<string, { file: string }>
}
const services = Object.entries(compose.services)
const port = (url: string) => new URL(url.includes('://') ? url : `tcp://${url}`).port

let state: string
let certs: string
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'callsign-compose-'))
  state = join(root, 'state')
  certs = join(root, 'certs')
  await provision(meshPaths(state, certs), 'https://issuer:8443', () => {})
}, 60_000)

describe('examples/mesh/docker-compose.yml', () => {
  it('runs the same services as the process mode, plus the intruder', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES, 'intruder'].sort())
  })

  it('starts each service from a script that exists', () => {
    for (const [name, service] of services) {
      const script = service.command.at(-1) ?? ''
      expect(service.command.slice(0, 4), name).toEqual([
        'node',
        '--import',
        'tsx',
        '--conditions=@callsign/source',
      ])
      expect(existsSync(join(meshDir, script)), `${name}: ${script}`).toBe(true)
      if (name !== 'intruder') expect(script).toBe(`src/services/${name}.ts`)
    }
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
    expect(compose.services.gateway?.ports).toEqual(['127.0.0.1:8080:8080'])
    expect(compose.networks.mesh?.internal).toBe(true)
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

  it('mounts credentials as secret files, each declared, and provisioned by the process mode', () => {
    for (const [name, service] of services) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (!value.startsWith('/run/secrets/')) continue
        const secret = value.slice('/run/secrets/'.length)
        expect(service.secrets, `${name} ${variable}`).toContain(secret)
        expect(compose.secrets[secret], secret).toBeDefined()
      }
    }
    for (const [secret, { file }] of Object.entries(compose.secrets)) {
      const local = file.replace('../../certs-dev', certs).replace('./.state', state)
      expect(existsSync(local), `${secret}: ${file}`).toBe(true)
    }
  })

  it('never passes a secret in an environment variable', () => {
    for (const [name, service] of services) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        expect(value, `${name} ${variable}`).not.toMatch(/csk_|BEGIN|eyJ/)
      }
    }
  })

  it('builds from node:20-slim with the pinned pnpm', () => {
    const dockerfile = readFileSync(join(meshDir, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m)
    expect(dockerfile).toContain('npm install -g pnpm@12.4.2')
    expect(dockerfile).toContain('pnpm install --frozen-lockfile')
  })
})
