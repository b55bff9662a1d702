import * as grpc from '@grpc/grpc-js'
import { createFixture, type Fixture, removeFixture } from './support/fixture.js'
import { ordersService } from './support/grpc-targets.js'
import {
  interleave,
  type LoadResult,
  type RowSummary,
  summarize,
  throughputTable,
  type Variant,
} from './support/rounds.js'
import { type RemoteTarget, seconds, spawnTarget } from './support/targets.js'

const IN_FLIGHT = 32

type GetFn = (
  request: { id: string },
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null) => void,
) => void

/**
 * Unary calls for `duration` seconds with {@link IN_FLIGHT} calls outstanding on one channel, the
 * way one grpc-js client calls a busy service. Every call must end OK.
 */
function unaryLoad(target: RemoteTarget, fixture: Fixture, credential: 'api-key' | 'jwt' | 'mtls') {
  const Orders = ordersService()
  const channel =
    credential === 'mtls'
      ? grpc.credentials.createSsl(
          Buffer.from(fixture.tls.ca),
          Buffer.from(fixture.tls.clientKey),
          Buffer.from(fixture.tls.clientCert),
        )
      : grpc.credentials.createInsecure()
  const client = new Orders(`127.0.0.1:${target.port}`, channel)
  const metadata = new grpc.Metadata()
  if (credential === 'api-key') metadata.set('authorization', `Bearer ${fixture.apiKey}`)
  if (credential === 'jwt') metadata.set('authorization', `Bearer ${fixture.hotToken}`)
  const get = (client as unknown as { Get: GetFn }).Get.bind(client)
  const load = (duration: number): Promise<LoadResult> =>
    new Promise((resolve) => {
      let ok = 0
      let failed = 0
      let running = IN_FLIGHT
      const started = performance.now()
      const until = started + duration * 1000
      const one = () => {
        if (performance.now() >= until) {
          if (--running === 0) resolve({ ok, failed, seconds: (performance.now() - started) / 1000 })
          return
        }
        get({ id: '7' }, metadata, (error) => {
          if (error) failed++
          else ok++
          one()
        })
      }
      for (let i = 0; i < IN_FLIGHT; i++) one()
    })
  return { load, close: () => client.close() }
}

const KEY_BASE = 'grpc-js, no auth, API key metadata (API key baseline)'
const TLS_BASE = 'grpc-js over mTLS, no auth (mTLS baseline)'

/** Unary calls per second and server CPU per call, grpc-js client and server on loopback. */
export async function run(): Promise<string> {
  const { fixture, file } = await createFixture(10)
  const rows = [
    // A baseline is sent the same metadata as the rows compared with it (unread), as for HTTP: a
    // ratio then measures Callsign's work, not the bytes of a credential on the wire.
    { name: 'grpc-js, no auth (baseline)', target: 'grpc:none', credential: 'jwt' },
    { name: 'grpc-js + a no-op interceptor (no auth)', target: 'grpc:interceptor', credential: 'jwt' },
    { name: KEY_BASE, target: 'grpc:none', credential: 'api-key', baseline: KEY_BASE },
    { name: 'Callsign API key', target: 'grpc:api-key', credential: 'api-key', baseline: KEY_BASE },
    { name: 'Callsign JWT, repeated token', target: 'grpc:jwt', credential: 'jwt' },
    { name: TLS_BASE, target: 'grpc-tls:none', credential: 'mtls', baseline: TLS_BASE },
    { name: 'Callsign mTLS', target: 'grpc-tls:mtls', credential: 'mtls', baseline: TLS_BASE },
  ] as const
  const targets = new Map<string, RemoteTarget>()
  const clients: { close(): void }[] = []
  try {
    const variants: Variant[] = []
    for (const row of rows) {
      if (!targets.has(row.target)) targets.set(row.target, await spawnTarget(row.target, file))
      const target = targets.get(row.target)!
      const client = unaryLoad(target, fixture, row.credential)
      clients.push(client)
      variants.push({
        name: row.name,
        target,
        load: client.load,
        ...('baseline' in row ? { baseline: row.baseline } : {}),
      })
    }
    process.stderr.write('grpc\n')
    const samples = await interleave(variants, {
      rounds: seconds('BENCH_ROUNDS', 3),
      seconds: seconds('BENCH_SECONDS', 4),
      warmupSeconds: seconds('BENCH_WARMUP_SECONDS', 2),
    })
    const summary = summarize(variants, samples)
    const of = (name: string) => summary.find((row) => row.name === name) as RowSummary
    const apiKey = of('Callsign API key')
    const jwt = of('Callsign JWT, repeated token')
    const mtls = of('Callsign mTLS')
    const noop = of('grpc-js + a no-op interceptor (no auth)')
    const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`
    return [
      '## gRPC: unary calls per second (grpc-js client and server on loopback)',
      '',
      `One grpc-js channel from the benchmark process with ${IN_FLIGHT} unary calls in flight; the server (grpc-js with \`@callsign/grpc\`'s interceptor) in its own child process, counting its CPU time. Rounds and server processes as for HTTP (each row right after a run of its baseline, which is sent the same metadata, unread); the method requires \`orders:read\`.`,
      '',
      throughputTable(variants, samples, 'calls/s'),
      '',
      `Throughput against the unary baseline (target ≥ 0.90×): API key ${apiKey.ratio.toFixed(2)}×, repeated JWT ${jwt.ratio.toFixed(2)}×, mTLS ${mtls.ratio.toFixed(2)}× of the plain mTLS server. Server CPU per call: ${signed(apiKey.extraCpu)} µs, ${signed(jwt.extraCpu)} µs and ${signed(mtls.extraCpu)} µs. A server with a no-op interceptor and no auth: ${noop.ratio.toFixed(2)}× (${signed(noop.extraCpu)} µs), what grpc-js charges for any interceptor, the only hook it offers for deciding before a handler runs. A grpc-js call costs far more than an HTTP/1.1 request on either side, so the same verification is a smaller share of it; the client shares these two cores with the server, so throughput ratios understate the server-side difference that the CPU column shows.`,
    ].join('\n')
  } finally {
    for (const client of clients) client.close()
    for (const target of targets.values()) await target.close()
    await removeFixture(fixture)
  }
}
