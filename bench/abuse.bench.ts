import { randomBytes } from 'node:crypto'
import { generateApiKey } from '@callsign/api-key'
import autocannon from 'autocannon'
import { AUDIENCE, createFixture, ISSUER, removeFixture } from './support/fixture.js'
import { seconds, spawnTarget } from './support/targets.js'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const MB = (bytes: number) => (bytes / 1e6).toFixed(0)

/**
 * Abuse: a service taking API keys and JWTs (JWKS from a stand-in issuer) under a stream of
 * garbage for BENCH_ABUSE_SECONDS (default 30): well-formed tokens with random signatures under
 * the real kid, tokens with random kids, API keys with valid checksums and random key ids, and one
 * valid token in four requests. Memory, event-loop delay, issuer fetches and store lookups are read
 * inside the server's process.
 */
export async function run(): Promise<string> {
  const { fixture, file } = await createFixture(1)
  const target = await spawnTarget('abuse', file)
  const duration = seconds('BENCH_ABUSE_SECONDS', 30)
  const kid = fixture.publicJwk.kid as string
  const now = () => Math.floor(Date.now() / 1000)
  const forged = (headerKid: string) =>
    `${b64({ alg: 'ES256', kid: headerKid })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: `svc-${randomBytes(6).toString('hex')}`, iat: now(), exp: now() + 300, scope: 'orders:read' })}.${randomBytes(64).toString('base64url')}`
  let turn = 0
  const next = () => {
    switch (turn++ % 4) {
      case 0:
        return forged(kid)
      case 1:
        return forged(randomBytes(12).toString('base64url'))
      case 2:
        return generateApiKey().key
      default:
        return fixture.hotToken
    }
  }
  const url = `http://127.0.0.1:${target.port}/orders/7`
  try {
    await autocannon({ url, duration: 2, headers: { authorization: `Bearer ${fixture.hotToken}` } })
    const before = await target.stats()
    await target.begin()
    const rss: number[] = []
    const poll = setInterval(() => {
      void target.stats().then((stats) => rss.push(stats.rss))
    }, 1_000)
    const result = await autocannon({
      url,
      duration,
      connections: 16,
      requests: [
        {
          method: 'GET',
          path: '/orders/7',
          setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${next()}` } }),
        },
      ],
    })
    clearInterval(poll)
    const after = await target.stats()
    await target.end()
    const counters = after.counters
    const refused = result.statusCodeStats['401']?.count ?? 0
    const served = result.statusCodeStats['200']?.count ?? 0
    // The histogram samples every 10 ms and records the whole interval: the delay is what exceeds it.
    const late = (ms: number) => Math.max(0, ms - 10).toFixed(1)
    const total = result.requests.total
    const lookups = (counters.storeLookups ?? 0) - (before.counters.storeLookups ?? 0)
    const fetches = (counters.jwksFetches ?? 0) - (before.counters.jwksFetches ?? 0)
    const peak = Math.max(after.rss, ...rss)
    return [
      '## Abuse: random tokens, random `kid`s and random key ids',
      '',
      `${duration} s of load from 16 connections against one Fastify service that takes API keys and JWTs (default settings: token cache 10 000, key-id cache 10 000, 100 store lookups/s, JWKS from a stand-in issuer with a 30 s unknown-kid cool-down). Requests rotate through four kinds: a JWT with a random signature under the real \`kid\` (each one a full ES256 verification), a JWT with a random \`kid\`, an API key with a valid checksum and a random key id, and a valid token.`,
      '',
      '| measure | value |',
      '|---|---:|',
      `| requests (all kinds) | ${total} (${Math.round(total / result.duration)}/s) |`,
      `| refused with 401 | ${refused} |`,
      `| valid requests served (200) during the attack | ${served} |`,
      `| other statuses or errors | ${result.errors + result.non2xx - refused} |`,
      `| RSS after warm-up → peak → end | ${MB(before.rss)} → ${MB(peak)} → ${MB(after.rss)} MB |`,
      `| heap used after warm-up → end | ${MB(before.heapUsed)} → ${MB(after.heapUsed)} MB |`,
      `| event-loop delay p50 / p99 / max | ${late(after.delay.p50)} / ${late(after.delay.p99)} / ${late(after.delay.max)} ms |`,
      `| JWKS fetches from the issuer (random \`kid\`s) | ${fetches} in ${duration} s |`,
      `| key-store lookups (random key ids) | ${lookups} in ${duration} s (budget: a burst of 100, then 100/s) |`,
      `| token-cache entries at the end | ${counters.tokenCacheSize} (bad tokens are never cached) |`,
      '',
      'What bounds each attack: a forged signature costs one verification and is never cached; an unknown `kid` refetches the JWKS at most once per cool-down (single flight), every other one is refused at once; an unknown key id costs one store lookup at most, within the lookup budget, and is then remembered in the bounded key-id cache. Memory stays flat because every cache is an LRU with a fixed size.',
    ].join('\n')
  } finally {
    await target.close()
    await removeFixture(fixture)
  }
}
