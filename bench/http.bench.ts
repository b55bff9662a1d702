import { createFixture, type Fixture, removeFixture } from './support/fixture.js'
import {
  cannon,
  interleave,
  type RowSummary,
  summarize,
  throughputTable,
  type Variant,
} from './support/rounds.js'
import { type RemoteTarget, seconds, spawnTarget } from './support/targets.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

type Load = 'hot' | 'api-key' | 'first-seen' | 'mtls'

/** The request stream of a workload: one repeated credential, or a pool of distinct tokens in turn. */
function loader(target: RemoteTarget, load: Load, fixture: Fixture): Variant['load'] {
  const tls = load === 'mtls'
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${target.port}/orders/7`
  return (duration) =>
    cannon({
      url,
      duration,
      ...(load === 'hot' ? { headers: bearer(fixture.hotToken) } : {}),
      ...(load === 'api-key' ? { headers: bearer(fixture.apiKey) } : {}),
      ...(load === 'first-seen'
        ? {
            requests: fixture.tokens.map((token) => ({
              method: 'GET',
              path: '/orders/7',
              headers: bearer(token),
            })),
          }
        : {}),
      ...(tls
        ? {
            tlsOptions: {
              ca: fixture.tls.ca,
              cert: fixture.tls.clientCert,
              key: fixture.tls.clientKey,
            },
          }
        : {}),
    })
}

interface Row {
  readonly name: string
  readonly target: string
  readonly load: Load
  readonly baseline?: string
}

async function group(title: string, rows: readonly Row[]): Promise<{ table: string; summary: RowSummary[] }> {
  const { fixture, file } = await createFixture()
  const targets = new Map<string, RemoteTarget>()
  try {
    for (const row of rows) {
      if (!targets.has(row.target)) targets.set(row.target, await spawnTarget(row.target, file))
    }
    const variants: Variant[] = rows.map((row) => ({
      name: row.name,
      target: targets.get(row.target)!,
      ...(row.baseline ? { baseline: row.baseline } : {}),
      load: loader(targets.get(row.target)!, row.load, fixture),
    }))
    process.stderr.write(`${title}\n`)
    const samples = await interleave(variants, {
      rounds: seconds('BENCH_ROUNDS', 3),
      seconds: seconds('BENCH_SECONDS', 4),
      warmupSeconds: seconds('BENCH_WARMUP_SECONDS', 2),
    })
    return { table: throughputTable(variants, samples), summary: summarize(variants, samples) }
  } finally {
    for (const target of targets.values()) await target.close()
    await removeFixture(fixture)
  }
}

const FASTIFY_BASE = 'Fastify, no auth (baseline)'
const FASTIFY_KEY_BASE = 'Fastify, no auth, API key header (API key baseline)'
const FASTIFY_TLS_BASE = 'Fastify over mTLS, no auth (mTLS baseline)'
const EXPRESS_BASE = 'Express, no auth (baseline)'
const EXPRESS_KEY_BASE = 'Express, no auth, API key header (API key baseline)'
const EXPRESS_TLS_BASE = 'Express over mTLS, no auth (mTLS baseline)'

const ratio = (summary: RowSummary[], name: string) => summary.find((row) => row.name === name)!
const x = (value: number) => `${value.toFixed(2)}×`

/**
 * HTTP throughput and server CPU per request on loopback: autocannon (16 connections, keep-alive)
 * in this process, each server in its own child process, interleaved rounds after a warm-up.
 */
export async function run(): Promise<string> {
  const fastify = await group('http: fastify', [
    { name: FASTIFY_BASE, target: 'fastify:none', load: 'hot' },
    { name: FASTIFY_KEY_BASE, target: 'fastify:none', load: 'api-key', baseline: FASTIFY_KEY_BASE },
    { name: 'Callsign API key', target: 'fastify:api-key', load: 'api-key', baseline: FASTIFY_KEY_BASE },
    {
      name: '@fastify/bearer-auth (peer, API key)',
      target: 'fastify:bearer-auth',
      load: 'api-key',
      baseline: FASTIFY_KEY_BASE,
    },
    { name: 'Callsign JWT, repeated token', target: 'fastify:jwt', load: 'hot' },
    {
      name: '@fastify/jwt with its cache, repeated token (peer)',
      target: 'fastify:fastify-jwt-cache',
      load: 'hot',
    },
    { name: 'Callsign JWT, first-seen tokens', target: 'fastify:jwt-nocache', load: 'first-seen' },
    {
      name: '@fastify/jwt without cache, first-seen tokens (peer)',
      target: 'fastify:fastify-jwt',
      load: 'first-seen',
    },
    { name: FASTIFY_TLS_BASE, target: 'fastify-tls:none', load: 'mtls', baseline: FASTIFY_TLS_BASE },
    { name: 'Callsign mTLS', target: 'fastify-tls:mtls', load: 'mtls', baseline: FASTIFY_TLS_BASE },
  ])
  const express = await group('http: express', [
    { name: EXPRESS_BASE, target: 'express:none', load: 'hot' },
    { name: EXPRESS_KEY_BASE, target: 'express:none', load: 'api-key', baseline: EXPRESS_KEY_BASE },
    { name: 'Callsign API key', target: 'express:api-key', load: 'api-key', baseline: EXPRESS_KEY_BASE },
    { name: 'Callsign JWT, repeated token', target: 'express:jwt', load: 'hot' },
    { name: 'Callsign JWT, first-seen tokens', target: 'express:jwt-nocache', load: 'first-seen' },
    { name: 'express-jwt, first-seen tokens (peer)', target: 'express:express-jwt', load: 'first-seen' },
    { name: EXPRESS_TLS_BASE, target: 'express-tls:none', load: 'mtls', baseline: EXPRESS_TLS_BASE },
    { name: 'Callsign mTLS', target: 'express-tls:mtls', load: 'mtls', baseline: EXPRESS_TLS_BASE },
  ])

  const f = fastify.summary
  const e = express.summary
  const apiKey = ratio(f, 'Callsign API key')
  const bearerAuth = ratio(f, '@fastify/bearer-auth (peer, API key)')
  const hot = ratio(f, 'Callsign JWT, repeated token')
  const fastifyJwtCache = ratio(f, '@fastify/jwt with its cache, repeated token (peer)')
  const first = ratio(f, 'Callsign JWT, first-seen tokens')
  const fastifyJwt = ratio(f, '@fastify/jwt without cache, first-seen tokens (peer)')
  const mtls = ratio(f, 'Callsign mTLS')
  const expressFirst = ratio(e, 'Callsign JWT, first-seen tokens')
  const expressJwt = ratio(e, 'express-jwt, first-seen tokens (peer)')
  return [
    '## HTTP: throughput and server CPU per request (loopback, autocannon)',
    '',
    `autocannon with 16 keep-alive connections runs in the benchmark process; each server runs alone in its own child process and counts its own CPU time (\`process.cpuUsage()\`). After a ${seconds('BENCH_WARMUP_SECONDS', 2)} s warm-up of every row, ${seconds('BENCH_ROUNDS', 3)} rounds; in each, every row runs for ${seconds('BENCH_SECONDS', 4)} s (after 1 s of unmeasured load, as every run) right after a run of its baseline, so the two sides of a ratio are measured seconds apart and drifting load from other tenants of this shared machine hits both alike. A baseline is a no-auth server sent the same requests as the rows compared with it: the JWT rows' baseline gets the JWT \`authorization\` header (unread), the API key rows' the API key header, the mTLS rows' the client certificate. Every server starts with the 16 MB young generation (\`--min-semi-space-size=16\`) that V8 grows it to under steady load; without that, V8 shrinks the young generation of a server that sits idle while the other rows run, and such a row paid several times as many scavenges per request as its baseline, which runs every few seconds. "× baseline" is the median over rounds of the row's requests per second divided by that baseline run's; "Δ CPU" is the same for the server's CPU time per request. The req/s and CPU columns are medians over all of a row's runs (a baseline runs once per row it is paired with). Every response is checked: a single non-2xx fails the benchmark. Every route requires the scope \`orders:read\`; the route handler returns a small JSON object.`,
    '',
    'How each is configured (the same token pool, key and certificates for all; see `bench/support/http-targets.ts`):',
    '',
    "- Callsign: `apiKeyVerifier({ store: fileKeyStore(file) })` (defaults: watched file, LRU of 10 000 records); `jwtVerifier({ issuer, audience, keys: [jwk], algorithms: ['ES256'] })` (defaults: iss, aud, exp, iat, sub required, 900 s maximum lifetime, 5 s tolerance, token cache of 10 000; the first-seen rows turn the token cache off so that every request pays a full verification, as a never-seen token does); `mtlsVerifier({ identity: 'spiffe', trustDomains })`, the client's scope a grant of the policy (`definePolicy({ routes, grants })`), behind `https.createServer` with `requestCert` and `rejectUnauthorized`. No audit sink (none of the peers audits).",
    '- @fastify/bearer-auth: `{ keys: new Set([apiKey]) }` (its constant-time compare of the whole key); it checks no scope, state or expiry.',
    "- @fastify/jwt: `secret: { public: pem }`, `verify: { algorithms: ['ES256'], allowedIss, allowedAud, requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'], maxAge: 900000, clockTolerance: 5000 }` (plus `cache: true` for the cached row), `request.jwtVerify()` in an `onRequest` hook, then the scope check.",
    "- express-jwt: `{ secret: KeyObject, algorithms: ['ES256'], issuer, audience, maxAge: '15m', clockTolerance: 5 }`, then a middleware checking `sub`, `iat`, `exp`, the lifetime and the scope.",
    '',
    '### Fastify 5',
    '',
    fastify.table,
    '',
    `API key: ${x(apiKey.ratio)} of no-auth throughput (target ≥ 0.90×), +${apiKey.extraCpu.toFixed(1)} µs CPU per request; @fastify/bearer-auth ${x(bearerAuth.ratio)} (+${bearerAuth.extraCpu.toFixed(1)} µs). Repeated JWT: ${x(hot.ratio)} (target ≥ 0.85×), @fastify/jwt with its cache ${x(fastifyJwtCache.ratio)}. First-seen JWT: ${x(first.ratio)}, +${first.extraCpu.toFixed(1)} µs CPU per request against @fastify/jwt's +${fastifyJwt.extraCpu.toFixed(1)} µs; most of it is the ES256 signature check itself (see the micro benchmark for the floor). mTLS adds ${mtls.extraCpu.toFixed(1)} µs of server CPU per request over a plain mTLS server (${x(mtls.ratio)} of its throughput).`,
    '',
    '### Express 5',
    '',
    express.table,
    '',
    `Express is slower than Fastify per request, so the same auth cost is a smaller share of it. First-seen JWT: Callsign +${expressFirst.extraCpu.toFixed(1)} µs CPU per request, express-jwt (jsonwebtoken) +${expressJwt.extraCpu.toFixed(1)} µs.`,
  ].join('\n')
}
