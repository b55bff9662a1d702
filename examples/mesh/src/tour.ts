import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { connect } from 'node:tls'
import { parseApiKey } from '@callsign/api-key'
import { meshDir } from './config.js'
import { grpc, http, type Outcome } from './lib/calls.js'
import { callsign, mustCallsign, nodeArgs } from './lib/callsign.js'
import { freePorts } from './lib/free-ports.js'
import { startService } from './lib/processes.js'
import { refusalsByReason } from './lib/refusals.js'
import { table } from './lib/table.js'
import { waitHealthy } from './lib/wait-healthy.js'
import { intruderLoot, keyFile, secretFiles } from './provision.js'
import { DEMO_TOKEN_TTL_SECONDS, type Mesh, type Service } from './start-mesh.js'

type Row = [call: string, expected: string, got: string, seen: string]

/**
 * The narrated tour. Each step states what should happen, does it for real against the running
 * mesh, and prints what each service saw. Returns the number of steps that did not behave.
 */
/**
 * The narrated tour. With `database` (a `postgres://` URL), a last step runs two gateway replicas on
 * the PostgreSQL key store and revokes a key under both.
 */
export async function runTour(mesh: Mesh, say: (line: string) => void, database?: string): Promise<number> {
  const { ca, urls, paths } = mesh
  // Every key the tour judges was provisioned before this moment (see step 9).
  const started = Date.now()
  const key = (owner: string) => readFileSync(keyFile(paths, owner), 'utf8').trim()
  const bearer = (owner: string) => `Bearer ${key(owner)}`
  let failures = 0
  let rows: Row[] = []
  let current = ''
  const report: { section: string; call: string; expected: string; got: string; pass: boolean }[] = []
  const expect = (call: string, expected: string, outcome: Outcome | string, seen = '', ok?: boolean) => {
    const got = typeof outcome === 'string' ? outcome : `${outcome.status}${code(outcome)}`
    const pass = ok ?? got.startsWith(expected)
    if (!pass) failures++
    rows.push([call, expected, pass ? got : `${got}  <-- unexpected`, seen])
    report.push({ section: current, call, expected, got, pass })
  }
  const section = (title: string) => {
    if (rows.length) say(`${table(['call', 'expected', 'got', 'what the callee saw'], rows)}\n`)
    rows = []
    current = title
    if (title) say(`== ${title}`)
  }

  section('1. Allowed calls: each service sees who called it')
  const read = await http(`${urls.gateway}/shop/orders/42`, { ca, authorization: bearer('storefront') })
  const firstToken = String(path(read, 'orders', 'credentialId'))
  expect(
    'storefront → gateway GET /shop/orders/42',
    '200',
    read,
    seen(read, ['gateway', 'orders', 'inventory']),
  )
  const tokenIssuedAt = Date.now()
  const order = await http(`${urls.gateway}/shop/orders`, {
    ca,
    method: 'POST',
    authorization: bearer('storefront'),
    body: { sku: 'sku-1' },
  })
  expect(
    'storefront → gateway POST /shop/orders',
    '201',
    order,
    seen(order, ['orders', 'billing', 'inventory']),
  )
  const stock = await grpc(urls.inventory, 'check', { ca, authorization: bearer('warehouse') })
  expect(
    'warehouse → inventory Check (API key in metadata)',
    'OK',
    stock,
    `inventory: ${stock.body.caller} (${stock.body.kind})`,
  )

  section('2. A caller is held to its scopes')
  const browse = await http(`${urls.gateway}/shop/orders/42`, { ca, authorization: bearer('analytics') })
  expect('analytics (shop:read) → gateway GET /shop/orders/42', '200', browse, seen(browse, ['gateway']))
  const analytics = await http(`${urls.gateway}/shop/orders`, {
    ca,
    method: 'POST',
    authorization: bearer('analytics'),
    body: {},
  })
  expect('analytics (no shop:order) → gateway POST /shop/orders', '403 ERR_INSUFFICIENT_SCOPE', analytics)

  section(`3. Tokens live ${DEMO_TOKEN_TTL_SECONDS} s: the gateway's expires and its client renews it`)
  const wait = tokenIssuedAt + (DEMO_TOKEN_TTL_SECONDS + 1) * 1000 - Date.now()
  say(`   (waiting ${Math.max(0, Math.round(wait / 1000))} s for the first token to expire)`)
  if (wait > 0) await sleep(wait)
  const again = await http(`${urls.gateway}/shop/orders/42`, { ca, authorization: bearer('storefront') })
  const secondToken = String(path(again, 'orders', 'credentialId'))
  expect(
    'storefront → gateway GET /shop/orders/42',
    '200',
    again,
    `orders saw token ${short(firstToken)} then ${short(secondToken)}`,
    again.status === '200' && secondToken !== firstToken && secondToken !== 'undefined',
  )

  section('4. The intruder, inside the same network, is refused everywhere')
  const intruder = await runIntruder(mesh)
  for (const attempt of intruder.attempts) {
    expect(
      `intruder (${attempt.holding}) → ${attempt.target}`,
      'refused',
      `${attempt.status} ${attempt.code}`.trim(),
      '',
      attempt.refused,
    )
  }
  expect('intruder process exit code', '0 (nothing let in)', String(intruder.code), '', intruder.code === 0)

  section('5. A key revoked with `callsign keys revoke` is refused within a second')
  const partnerFile = await partnerKey(paths, 'partner', paths.keyStore)
  const partner = `Bearer ${readFileSync(partnerFile, 'utf8').trim()}`
  const before = await until(
    () => http(`${urls.gateway}/shop/orders/7`, { ca, authorization: partner }),
    (o) => o.status === '200',
    3000,
  )
  expect(
    'partner (new key) → gateway GET /shop/orders/7',
    '200',
    before.outcome,
    `gateway saw it ${before.ms} ms after creation`,
  )
  await mustCallsign(['keys', 'revoke', parseApiKey(partner.slice(7)).id, '--store', paths.keyStore])
  const after = await until(
    () => http(`${urls.gateway}/shop/orders/7`, { ca, authorization: partner }),
    (o) => o.status === '401',
    3000,
  )
  expect(
    'partner (revoked key) → gateway GET /shop/orders/7',
    '401 ERR_INVALID_CREDENTIAL',
    after.outcome,
    `refused ${after.ms} ms after the revoke`,
    after.outcome.status === '401' && after.ms <= 2000,
  )

  section("6. billing's certificate is rotated without a restart")
  const oldCert = await servedCertificate(urls.billing, ca)
  await mustCallsign(['certs', 'issue', 'billing', '--dir', paths.certs, '--namespace', 'shop'])
  const rotated = await until(
    () => servedCertificate(urls.billing, ca),
    (fingerprint) => fingerprint !== oldCert,
    5000,
  )
  expect(
    'billing serves a new certificate',
    'new',
    rotated.outcome === oldCert ? 'old' : 'new',
    `${short(oldCert)} → ${short(rotated.outcome)} after ${rotated.ms} ms`,
  )
  const afterRotation = await http(`${urls.gateway}/shop/orders`, {
    ca,
    method: 'POST',
    authorization: bearer('storefront'),
    body: {},
  })
  expect('storefront → gateway POST /shop/orders', '201', afterRotation, seen(afterRotation, ['billing']))

  section("7. orders' certificate revoked with `callsign certs revoke`: billing refuses it without a restart")
  const placeOrder = () =>
    http(`${urls.gateway}/shop/orders`, { ca, method: 'POST', authorization: bearer('storefront'), body: {} })
  const open = await placeOrder() // orders' keep-alive connection to billing is open after this
  expect('storefront → gateway POST /shop/orders (orders → billing)', '201', open, seen(open, ['billing']))
  await mustCallsign(['certs', 'revoke', 'orders', '--dir', paths.certs])
  // Billing's reload may close orders' open connection under a request (orders answers 502 with no
  // decision by billing): call again until billing itself has refused the revoked certificate.
  const billingLog = join(paths.audit, 'billing.jsonl')
  const refused = await until(
    async () => ({ ...(await placeOrder()), billing: lastDenial(billingLog) }),
    (o) => o.status === '502' && o.billing === '401 revoked',
    10_000,
  )
  const billingSaw = refused.outcome.billing
  expect(
    'orders (revoked certificate) → billing POST /charges',
    '502 (billing: 401 revoked)',
    `${refused.outcome.status} (billing: ${billingSaw})`,
    `refused ${refused.ms} ms after the revoke, without a restart`,
    refused.outcome.status === '502' && billingSaw === '401 revoked',
  )
  await mustCallsign(['certs', 'issue', 'orders', '--dir', paths.certs, '--namespace', 'shop'])
  const back = await until(placeOrder, (o) => o.status === '201', 5000)
  expect(
    'storefront → gateway POST /shop/orders (orders re-issued)',
    '201',
    back.outcome,
    `orders reloaded its new certificate after ${back.ms} ms`,
  )

  section('8. No secret in any log or audit line')
  const leaks = findSecrets(mesh, logAndAuditFiles(mesh))
  expect(
    `${leaks.sources} log and audit files searched for ${leaks.secrets} secrets`,
    'none found',
    leaks.found.length ? leaks.found.join(', ') : 'none found',
  )
  section('')

  say("== 9. `callsign review` over the mesh's audit logs")
  // A grant is called unused only once its key has existed for the whole window. The keys are
  // minutes old, so the review looks at the tour as a one-day window, as of one day after it began.
  say('   (as of one day after the tour began, with a one-day scope window)')
  const review = await callsign([
    'review',
    '--store',
    paths.keyStore,
    '--audit',
    paths.audit,
    '--certs',
    paths.certs,
    // each service's policy: what it grants a certificate's identity is all that certificate holds,
    // and what it grants a key's owner is held beside the key's own scopes
    ...readdirSync(join(meshDir, 'policies')).flatMap((file) => [
      '--policy',
      join(meshDir, 'policies', file),
    ]),
    '--now',
    new Date(started + 86_400_000).toISOString(),
    '--scope-window',
    '1d',
  ])
  say(review.stdout.replace(/^/gm, '   '))
  if (![0, 1].includes(review.code ?? -1) || !review.stdout.includes('Access review')) {
    failures++
    say(`   review did not run (exit ${review.code}): ${review.stderr}`)
  }

  if (database !== undefined) {
    section('10. Two gateway replicas on one PostgreSQL key store: a revocation reaches both')
    await mustCallsign(['store', 'migrate', '--store', database])
    const replicaKeyFile = await partnerKey(paths, 'replicated', database)
    const replicated = `Bearer ${readFileSync(replicaKeyFile, 'utf8').trim()}`
    const replicas = (await freePorts(2)).map((port) => `http://127.0.0.1:${port}`)
    replicas.forEach((url, i) => {
      const env = { ...mesh.env, PORT: new URL(url).port, KEY_STORE: database }
      startService('gateway', env, paths.logs, `gateway-replica-${i + 1}`)
    })
    for (const [i, url] of replicas.entries()) {
      await waitHealthy(`gateway replica ${i + 1}`, () => http(`${url}/healthz`, { ca }))
    }
    const call = (url: string) => http(`${url}/shop/orders/7`, { ca, authorization: replicated })
    for (const [i, url] of replicas.entries()) {
      const before = await until(
        () => call(url),
        (o) => o.status === '200',
        3000,
      )
      expect(`partner → gateway replica ${i + 1} GET /shop/orders/7`, '200', before.outcome)
    }
    await mustCallsign(['keys', 'revoke', parseApiKey(replicated.slice(7)).id, '--store', database])
    const afterRevoke = await Promise.all(
      replicas.map((url) =>
        until(
          () => call(url),
          (o) => o.status === '401',
          3000,
        ),
      ),
    )
    for (const [i, after] of afterRevoke.entries()) {
      expect(
        `partner (revoked key) → gateway replica ${i + 1} GET /shop/orders/7`,
        '401 ERR_INVALID_CREDENTIAL',
        after.outcome,
        `refused ${after.ms} ms after the revoke`,
        after.outcome.status === '401' && after.ms <= 2000,
      )
    }
    section('')
  }

  section("Refusals by reason, as each service's Prometheus metrics count them")
  const scraped = await scrapeMetrics(mesh)
  let refusals: Record<Service, Record<string, number>> | null = null
  if (scraped instanceof Error) {
    expect('scrape every service /metrics', 'refusals by reason', `failed: ${scraped.message}`, '', false)
  } else {
    const counted = Object.fromEntries(
      Object.entries(scraped).map(([service, text]) => [service, refusalsByReason(text)]),
    ) as Record<Service, Record<string, number>>
    refusals = counted
    say(`${table(['reason', 'refused', 'by'], refusalRows(counted))}\n`)
    // the refusals steps 2, 4, 5 and 7 made, each where it happened
    const made = [
      ['gateway', 'scope_missing'],
      ['gateway', 'no_credential'],
      ['orders', 'no_credential'],
      ['billing', 'no_credential'],
      ['inventory', 'no_credential'],
      ['gateway', 'revoked'],
      ['billing', 'revoked'],
    ] as const
    const missing = made.filter(([service, reason]) => !counted[service][reason])
    expect(
      'the refusals of steps 2, 4, 5 and 7, in each service /metrics',
      'all counted',
      missing.length ? `not counted: ${missing.map((m) => m.join(' ')).join(', ')}` : 'all counted',
    )
    const texts = Object.entries(scraped).map(([service, text]) => ({ where: `${service} /metrics`, text }))
    const leaks = findSecrets(mesh, texts)
    expect(
      `${leaks.sources} services' metrics searched for ${leaks.secrets} secrets`,
      'none found',
      leaks.found.length ? leaks.found.join(', ') : 'none found',
    )
  }
  section('')

  // MESH_REPORT: the same outcomes as JSON, for the end-to-end test
  if (process.env.MESH_REPORT) {
    writeFileSync(
      process.env.MESH_REPORT,
      JSON.stringify({
        failures,
        steps: report,
        review: { code: review.code },
        refusals,
      }),
    )
  }
  say(failures === 0 ? 'Every step behaved as expected.' : `${failures} step(s) did not behave as expected.`)
  return failures
}

function code(outcome: Outcome): string {
  return typeof outcome.body.code === 'string' ? ` ${outcome.body.code}` : ''
}

function path(outcome: Outcome, ...keys: string[]): unknown {
  let value: unknown = outcome.body
  for (const key of keys) value = (value as Record<string, unknown> | undefined)?.[key]
  return value
}

function seen(outcome: Outcome, services: string[]): string {
  return services
    .map((service) => {
      const entry = outcome.body[service] as { caller?: string; kind?: string } | undefined
      return entry?.caller ? `${service}: ${entry.caller}${entry.kind ? ` (${entry.kind})` : ''}` : undefined
    })
    .filter(Boolean)
    .join(' · ')
}

/** The last refusal in a service's audit log, as `<status> <reason>` (status from the code). */
function lastDenial(auditFile: string): string {
  const lines = readFileSync(auditFile, 'utf8').trim().split('\n').reverse()
  for (const line of lines) {
    const event = JSON.parse(line) as { decision?: string; code?: string; reason?: string }
    if (event.decision !== 'deny') continue
    return `${event.code === 'ERR_INSUFFICIENT_SCOPE' ? 403 : 401} ${event.reason}`
  }
  return 'no refusal'
}

function short(value: string): string {
  return value.length > 12 ? `${value.slice(0, 10)}…` : value
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number) {
  const started = Date.now()
  let outcome = await probe()
  while (!done(outcome) && Date.now() - started < timeoutMs) {
    await sleep(50)
    outcome = await probe()
  }
  return { outcome, ms: Date.now() - started }
}

function servedCertificate(url: string, ca: Buffer): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca, servername: 'billing' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.end()
      resolve(fingerprint.replaceAll(':', '').toLowerCase())
    })
    socket.on('error', reject)
  })
}

interface Attempt {
  holding: string
  target: string
  status: string
  code: string
  refused: boolean
}

function runIntruder(mesh: Mesh): Promise<{ attempts: Attempt[]; code: number | null }> {
  const env = {
    ...process.env,
    MESH_CA: intruderLoot(mesh.paths).ca,
    EXPIRED_TOKEN_FILE: intruderLoot(mesh.paths).expiredToken,
    STOLEN_KEY_FILE: intruderLoot(mesh.paths).stolenKey,
    GATEWAY_URL: mesh.urls.gateway,
    ORDERS_URL: mesh.urls.orders,
    BILLING_URL: mesh.urls.billing,
    INVENTORY_ADDRESS: mesh.urls.inventory,
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(meshDir, 'src', 'intruder.ts')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const attempts = out
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Attempt)
      resolve({ attempts, code })
    })
  })
}

/** Every secret the mesh holds (API keys, the expired token), searched for in each text of `sources`. */
function findSecrets(mesh: Mesh, sources: readonly { where: string; text: string }[]) {
  const secrets = secretFiles(mesh.paths.secrets).map((name) => ({
    name,
    value: readFileSync(join(mesh.paths.secrets, name), 'utf8').trim(),
  }))
  const found: string[] = []
  for (const { where, text } of sources) {
    for (const secret of secrets) {
      // the secret part of a key (after its id) and a whole token
      const needle = secret.value.includes('_')
        ? secret.value.slice(secret.value.lastIndexOf('_') + 1)
        : secret.value
      if (needle.length > 16 && text.includes(needle)) found.push(`${secret.name} in ${where}`)
    }
    if (/Bearer [A-Za-z0-9]/.test(text)) found.push(`a bearer credential in ${where}`)
  }
  return { sources: sources.length, secrets: secrets.length, found }
}

/** Every log and audit file of the mesh, with its text. */
function logAndAuditFiles(mesh: Mesh) {
  return [mesh.paths.logs, mesh.paths.audit]
    .flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)))
    .map((file) => ({ where: file, text: readFileSync(file, 'utf8') }))
}

/** A new partner key (shop:read, one hour) in `store`, written to the key file named `name`. */
async function partnerKey(paths: Mesh['paths'], name: string, store: string): Promise<string> {
  const file = keyFile(paths, name)
  rmSync(file, { force: true })
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  await mustCallsign([
    'keys',
    'create',
    '--owner',
    'partner',
    '--scope',
    'shop:read',
    '--expires',
    '1h',
    '--out',
    file,
    '--store',
    store,
  ])
  return file
}

/** Each service's metrics, as Prometheus scrapes them (plain HTTP); the error if one cannot be read. */
async function scrapeMetrics(mesh: Mesh): Promise<Record<Service, string> | Error> {
  try {
    const entries = await Promise.all(
      Object.entries(mesh.metricsUrls).map(async ([service, url]) => {
        const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
        if (!response.ok) throw new Error(`${url} answered ${response.status}`)
        return [service, await response.text()]
      }),
    )
    return Object.fromEntries(entries) as Record<Service, string>
  } catch (error) {
    return error as Error
  }
}

/** One row a reason, most refused first: the total, then each service's count. */
function refusalRows(refusals: Record<Service, Record<string, number>>): string[][] {
  const byReason = new Map<string, [service: string, count: number][]>()
  for (const [service, counts] of Object.entries(refusals)) {
    for (const [reason, count] of Object.entries(counts)) {
      byReason.set(reason, [...(byReason.get(reason) ?? []), [service, count]])
    }
  }
  const total = (counts: [string, number][]) => counts.reduce((sum, [, count]) => sum + count, 0)
  return [...byReason]
    .sort(([, a], [, b]) => total(b) - total(a))
    .map(([reason, counts]) => [
      reason,
      String(total(counts)),
      counts.map(([service, count]) => `${service} ${count}`).join(' · '),
    ])
}
