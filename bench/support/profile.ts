/**
 * A small driver for finding where a server's time goes, outside the full benchmarks:
 *
 *   BENCH_CPU_PROF=/tmp/prof tsx --conditions=@callsign/source bench/support/profile.ts 5 fastify:api-key=api-key …
 *
 * Each `<target>=<load>` server runs in its own child process (with `--cpu-prof` when BENCH_CPU_PROF
 * is set) under autocannon for the given seconds after a 2 s warm-up; the server's CPU time per
 * request is printed for each, in turn, twice over (interleaved), so two builds can be compared quickly.
 */
import { createFixture, type Fixture, removeFixture } from './fixture.js'
import { cannon } from './rounds.js'
import { type RemoteTarget, spawnTarget } from './targets.js'

const [secondsArg, ...specs] = process.argv.slice(2)
const duration = Number(secondsArg)
if (!(duration > 0) || specs.length === 0) {
  process.stderr.write('usage: profile.ts <seconds> <target>=<hot|api-key|mtls> …\n')
  process.exit(2)
}

const load = (target: RemoteTarget, kind: string, fixture: Fixture, seconds: number) => {
  const tls = kind === 'mtls'
  return cannon({
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${target.port}/orders/7`,
    duration: seconds,
    ...(kind === 'hot' ? { headers: { authorization: `Bearer ${fixture.hotToken}` } } : {}),
    ...(kind === 'api-key' ? { headers: { authorization: `Bearer ${fixture.apiKey}` } } : {}),
    ...(tls
      ? { tlsOptions: { ca: fixture.tls.ca, cert: fixture.tls.clientCert, key: fixture.tls.clientKey } }
      : {}),
  })
}

const { fixture, file } = await createFixture(10)
try {
  const rows: { spec: string; target: RemoteTarget; kind: string }[] = []
  for (const spec of specs) {
    const [name, kind = 'hot'] = spec.split('=') as [string, string?]
    rows.push({ spec, target: await spawnTarget(name, file), kind })
  }
  for (const row of rows) await load(row.target, row.kind, fixture, 2)
  for (let round = 0; round < 2; round++) {
    for (const row of rows) {
      await row.target.begin()
      const result = await load(row.target, row.kind, fixture, duration)
      const micros = await row.target.end()
      if (result.failed > 0) throw new Error(`${row.spec}: ${result.failed} failed requests`)
      process.stdout.write(
        `${row.spec.padEnd(28)} ${(result.ok / result.seconds).toFixed(0).padStart(7)} req/s  ${(micros / result.ok).toFixed(2).padStart(7)} µs CPU/req\n`,
      )
    }
  }
  for (const row of rows) await row.target.close()
} finally {
  await removeFixture(fixture)
}
