/**
 * The gRPC adapter's per-call cost with client and server in one process (no child process, so no
 * cross-process CPU accounting), for finding where the time goes:
 *
 *   tsx --conditions=@callsign/source bench/support/grpc-in-process.ts
 *
 * Rows: a bare server, a no-op interceptor, Callsign with an always-allow synchronous verifier, and
 * Callsign with the real API key and JWT verifiers; 16 concurrent unary calls over plaintext
 * loopback, every call carrying the same `authorization` metadata. Prints CPU and wall time per
 * call (client and server together), three interleaved rounds.
 */
import { type Caller, definePolicy, type Verifier } from '@callsign/core'
import { auth, getCaller } from '@callsign/grpc'
import * as grpc from '@grpc/grpc-js'
import { createFixture, removeFixture, SCOPE } from './fixture.js'
import { GET_METHOD, noopInterceptor, ordersService } from './grpc-targets.js'
import { callsignVerifier } from './http-targets.js'

type Kind = 'bare' | 'no-op interceptor' | 'always-allow' | 'api-key' | 'jwt'

const { fixture } = await createFixture(10)
const Orders = ordersService()
const caller: Caller = Object.freeze({
  id: 'billing',
  kind: 'api-key',
  scopes: new Set([SCOPE]),
  credentialId: 'bench',
  attributes: {},
})
const alwaysAllow: Verifier = { kind: 'api-key', verify: () => caller }

async function start(kind: Kind) {
  const verifier =
    kind === 'always-allow'
      ? alwaysAllow
      : kind === 'api-key' || kind === 'jwt'
        ? callsignVerifier(kind, fixture)
        : undefined
  const guarded = verifier !== undefined
  const interceptors = verifier
    ? [
        auth({
          policy: definePolicy({ routes: { [GET_METHOD]: [SCOPE] } }),
          verifiers: [verifier],
          services: [],
          allowPlaintextLoopback: true,
        }),
      ]
    : kind === 'no-op interceptor'
      ? [noopInterceptor]
      : []
  const server = new grpc.Server({ interceptors })
  server.addService(Orders.service, {
    Get(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      callback(null, { id: '7', by: guarded ? getCaller(call).id : '' })
    },
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  )
  const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  const metadata = new grpc.Metadata()
  metadata.set('authorization', `Bearer ${kind === 'api-key' ? fixture.apiKey : fixture.hotToken}`)
  const get = (client as unknown as Record<string, (...args: unknown[]) => void>).Get!.bind(client)
  const one = () =>
    new Promise<void>((resolve, reject) =>
      get({ id: '7' }, metadata, (error: Error | null) => (error ? reject(error) : resolve())),
    )
  const batch = () => Promise.all(Array.from({ length: 16 }, one))
  const close = () => {
    client.close()
    server.forceShutdown()
  }
  return { batch, close }
}

const kinds: Kind[] = ['bare', 'no-op interceptor', 'always-allow', 'api-key', 'jwt']
const rows = await Promise.all(kinds.map(async (kind) => ({ kind, ...(await start(kind)) })))
try {
  for (const row of rows) for (let i = 0; i < 300; i++) await row.batch()
  for (let round = 1; round <= 3; round++) {
    for (const row of rows) {
      const cpu = process.cpuUsage()
      const started = performance.now()
      for (let i = 0; i < 500; i++) await row.batch()
      const used = process.cpuUsage(cpu)
      const calls = 500 * 16
      process.stdout.write(
        `round ${round}  ${row.kind.padEnd(18)} ${((used.user + used.system) / calls).toFixed(1).padStart(6)} µs CPU/call  ${(((performance.now() - started) * 1000) / calls).toFixed(1).padStart(6)} µs wall/call\n`,
      )
    }
  }
} finally {
  for (const row of rows) row.close()
  await removeFixture(fixture)
}
