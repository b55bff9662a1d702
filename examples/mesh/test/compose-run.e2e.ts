import { type SpawnOptions, spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseApiKey } from '@callsign/api-key'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshDir } from '../src/config.js'
import { nodeArgs } from '../src/lib/callsign.js'
import { freePorts } from '../src/lib/free-ports.js'
import { refusalsByReason } from '../src/lib/refusals.js'
import { keyFile, meshPaths } from '../src/provision.js'

// `pnpm test:compose`: the mesh run for real in docker compose (a Docker engine and `docker compose`
// or `docker-compose` must be there). It provisions into a temporary folder, builds the image
// (scripts/build-image-offline.sh: no registry is needed), brings the mesh up, tours it through
// the published gateway, reissues a certificate, revokes a key and a certificate with the CLI
// while it runs, runs the intruder, and tears everything down.

const PROJECT = 'callsign-mesh-test'
const composeFile = join(meshDir, 'docker-compose.yml')
const cliBin = fileURLToPath(new URL('../../../packages/cli/src/bin.ts', import.meta.url))

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function run(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function must(command: string, args: readonly string[], options?: SpawnOptions): Promise<string> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

// The services run as the image's `node` user (uid 1000) and read secrets the host wrote with mode
// 0600, so the host side (provisioning, the CLI) runs as that uid too; as another non-root user,
// the services run as that user instead (MESH_UID).
const asRoot = process.getuid?.() === 0
const uid = asRoot ? 1000 : (process.getuid?.() ?? 1000)
const gid = asRoot ? 1000 : (process.getgid?.() ?? 1000)

let root: string
let paths: ReturnType<typeof meshPaths>
let compose: string[]
let env: NodeJS.ProcessEnv
let gateway: string

const asMeshUser = (): SpawnOptions => ({ env: { ...env, HOME: root }, ...(asRoot ? { uid, gid } : {}) })
const cli = (...args: string[]) => must(process.execPath, [...nodeArgs, cliBin, ...args], asMeshUser())
const dc = (...args: string[]) =>
  must(compose[0] ?? 'docker', [...compose.slice(1), '-p', PROJECT, '-f', composeFile, ...args], { env })
const key = (owner: string) => readFileSync(keyFile(paths, owner), 'utf8').trim()

async function call(path: string, owner?: string, body?: unknown) {
  const response = await fetch(`${gateway}${path}`, {
    signal: AbortSignal.timeout(20_000),
    method: body ? 'POST' : 'GET',
    headers: {
      ...(owner ? { authorization: `Bearer ${key(owner)}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, seconds = 30) {
  let last: T | undefined
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; ) {
    last = await probe().catch(() => undefined)
    if (last !== undefined && ok(last)) return last
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new Error(`${what}: not within ${seconds} s (last: ${JSON.stringify(last)})`)
}

/** When each container last started: unchanged means it was never restarted. */
async function startedAt(): Promise<Record<string, string>> {
  const ids = (await dc('ps', '-q')).trim().split('\n').filter(Boolean)
  const lines = await must('docker', [
    'inspect',
    '--format',
    '{{.Name}} {{.State.StartedAt}} {{.RestartCount}}',
    ...ids,
  ])
  return Object.fromEntries(
    lines
      .trim()
      .split('\n')
      .map((line) => [line.split(' ')[0], line]),
  )
}

/** The fingerprint of the certificate billing serves, seen from inside the mesh network. */
async function servedBillingCertificate(): Promise<string> {
  const script = `const s=require('tls').connect({host:'billing',port:8443,rejectUnauthorized:false},()=>{console.log(s.getPeerX509Certificate().fingerprint256);s.end()})`
  return (await dc('exec', '-T', 'orders', 'node', '-e', script)).trim()
}

/** A service's refusals by reason, from its Prometheus metrics, scraped from inside the mesh network. */
async function refusalsOf(service: string): Promise<Record<string, number>> {
  const script = `fetch('http://${service}:9464/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`
  return refusalsByReason(await dc('exec', '-T', 'orders', 'node', '-e', script))
}

let before: Record<string, string>

/** As root, lets uid 1000 reach the repository (search permission on each folder above it, as a fresh `mktemp -d` clone lacks). */
function letMeshUserIn(dir: string): void {
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o001)
  }
}

beforeAll(async () => {
  if (asRoot) letMeshUserIn(meshDir)
  compose =
    (await run('docker', ['compose', 'version']).catch(() => ({ code: 1 }))).code === 0
      ? ['docker', 'compose']
      : ['docker-compose']
  root = mkdtempSync(join(tmpdir(), 'callsign-compose-run-'))
  chmodSync(root, 0o755)
  paths = meshPaths(join(root, 'state'), join(root, 'certs'))
  for (const dir of [paths.state, paths.certs]) {
    mkdirSync(dir, { recursive: true })
    if (asRoot) chownSync(dir, uid, gid)
  }
  const [port] = await freePorts(1)
  gateway = `http://127.0.0.1:${port}`
  env = {
    ...process.env,
    MESH_STATE: paths.state,
    MESH_CERTS: paths.certs,
    MESH_UID: String(uid),
    MESH_GATEWAY_PORT: String(port),
    ISSUER_URL: 'https://issuer:8443',
  }
  await must(process.execPath, [...nodeArgs, join(meshDir, 'src', 'provision-compose.ts')], asMeshUser())
  await must(join(meshDir, 'scripts', 'build-image-offline.sh'), [], { env })
  await dc('down', '-v', '--remove-orphans').catch(() => '')
  await dc('up', '-d', '--no-build')
  await eventually(
    'the gateway healthy',
    () => fetch(`${gateway}/healthz`, { signal: AbortSignal.timeout(5_000) }),
    (r) => r.status === 200,
    300,
  )
  before = await startedAt()
}, 1_200_000)

afterAll(async () => {
  if (compose)
    await dc('down', '-v', '--remove-orphans').catch((error: Error) => console.error(error.message))
  if (root) rmSync(root, { recursive: true, force: true })
}, 180_000)

describe('the mesh in docker compose', () => {
  it('serves the tour through the published gateway: API key, JWT, mTLS and gRPC behind it', async () => {
    const order = await call('/shop/orders', 'storefront', { sku: 'sku-1' })
    expect(order.status).toBe(201)
    expect(Object.keys(order.body)).toEqual(expect.arrayContaining(['orders', 'billing', 'inventory']))
    expect((await call('/shop/orders/42', 'storefront')).status).toBe(200)
    expect(await call('/shop/orders', 'analytics', { sku: 'sku-1' })).toMatchObject({
      status: 403,
      body: { code: 'ERR_INSUFFICIENT_SCOPE' },
    })
    expect((await call('/shop/orders/42')).status).toBe(401)
  })

  it('serves a certificate reissued with the CLI while it runs, without a restart', async () => {
    const old = await servedBillingCertificate()
    await cli('certs', 'issue', 'billing', '--dir', paths.certs, '--namespace', 'shop')
    const reissued = new X509Certificate(readFileSync(join(paths.certs, 'billing', 'tls.crt'))).fingerprint256
    expect(reissued).not.toBe(old)
    await eventually(
      'billing serving the new certificate',
      servedBillingCertificate,
      (served) => served === reissued,
    )
    expect((await call('/shop/orders', 'storefront', { sku: 'sku-1' })).status).toBe(201)
  })

  it('refuses a key revoked with the CLI while it runs, without a restart', async () => {
    expect((await call('/shop/orders/42', 'analytics')).status).toBe(200)
    await cli('keys', 'revoke', parseApiKey(key('analytics')).id, '--store', paths.keyStore)
    const refused = await eventually(
      'the revoked key refused',
      () => call('/shop/orders/42', 'analytics'),
      (r) => r.status === 401,
    )
    expect(refused.body.code).toBe('ERR_INVALID_CREDENTIAL')
    expect(await startedAt()).toEqual(before)
  })

  it("refuses a certificate revoked with the CLI while it runs (billing mounts the CA's list alone), without a restart", async () => {
    const placeOrder = () => call('/shop/orders', 'storefront', { sku: 'sku-1' })
    expect((await placeOrder()).status).toBe(201)
    await cli('certs', 'revoke', 'orders', '--dir', paths.certs)
    await eventually(
      "billing refusing orders' revoked certificate",
      placeOrder,
      (r) => r.status === 502 && (r.body.billing as { status?: number } | undefined)?.status === 401,
    )
    await cli('certs', 'issue', 'orders', '--dir', paths.certs, '--namespace', 'shop')
    await eventually('orders served again under its new certificate', placeOrder, (r) => r.status === 201)
    expect(await startedAt()).toEqual(before)
  })

  it('refuses the intruder with exactly the refusal expected at every service', async () => {
    const result = await run(
      compose[0] ?? 'docker',
      [...compose.slice(1), '-p', PROJECT, '-f', composeFile, 'run', '--rm', 'intruder'],
      { env },
    )
    const attempts = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { target: string; expected: string; status: string; refused: boolean },
      )
    expect(attempts.map((a) => `${a.target}: ${a.status}`)).toEqual(
      attempts.map((a) => `${a.target}: ${a.expected}`),
    )
    expect(attempts.length).toBe(8)
    expect(result.code).toBe(0)
  })

  it("counts the refusals in the gateway's and billing's Prometheus metrics, scraped inside the network", async () => {
    // the gateway: no credential and a missing scope (the first test, the intruder), the revoked key
    const atGateway = await refusalsOf('gateway')
    expect(atGateway.no_credential).toBeGreaterThanOrEqual(2)
    expect(atGateway.scope_missing).toBeGreaterThanOrEqual(2)
    expect(atGateway.revoked).toBeGreaterThanOrEqual(1)
    // billing: orders' revoked certificate, and the intruder without one
    expect(await refusalsOf('billing')).toMatchObject({
      revoked: expect.any(Number),
      no_credential: expect.any(Number),
    })
  })
})
