import { createApiKey } from '@callsign/api-key'
import { postgresKeyStore } from '@callsign/store-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleWorker } from '../../../test/support/bundle-worker.js'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { DATABASE_URL, eventually } from './support/postgres.js'
import { type ReplicaProcess, refusals, startReplica } from './support/replica-process.js'
import { testDatabase } from './support/test-database.js'

const { postgres, schema } = await testDatabase('the PostgreSQL multi-replica test', 'replicas', {
  migrated: true,
})
const replicas: ReplicaProcess[] = []
let script = ''
beforeAll(async () => {
  if (postgres) script = await bundleWorker(new URL('./support/service-replica.ts', import.meta.url))
})
afterAll(() => {
  for (const replica of replicas) replica.stop()
})

/** The status each service answers a revoked key with: 401, or gRPC's UNAUTHENTICATED. */
const REFUSED = { fastify: 401, express: 401, grpc: 16 } as const

describe.skipIf(!postgres)('revocation across service replicas', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('`callsign keys revoke` in a fourth process: the Fastify, Express and gRPC replicas under load all refuse the key', async () => {
    const store = postgresKeyStore(DATABASE_URL, { schema, listen: false })
    const { key, record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    await store.close()
    for (const kind of ['fastify', 'express', 'grpc'] as const) {
      replicas.push(startReplica(script, DATABASE_URL, schema, kind, key))
    }
    // Each replica calls itself with the key every few milliseconds; "ready" is its first acceptance.
    await eventually(() => replicas.every((r) => r.lines.includes('ready')), 60_000)

    const startedAt = Date.now()
    const revoked = await runCli(['keys', 'revoke', record.id, '--store', `${DATABASE_URL}?schema=${schema}`])
    const exitedAt = Date.now()
    expect(revoked.code).toBe(0)
    await eventually(() => replicas.every((r) => refusals(r).length > 0), 30_000)
    const first = replicas.map((r) => ({
      kind: r.kind,
      ...(refusals(r)[0] as ReturnType<typeof refusals>[0]),
    }))
    for (const refusal of first) {
      expect(refusal).toMatchObject({
        status: REFUSED[refusal.kind as keyof typeof REFUSED],
        reason: 'revoked',
      })
      expect(refusal.at).toBeGreaterThanOrEqual(startedAt) // never refused before the revocation began
    }
    // Reported, not asserted: from the command's start and from its exit to the last replica's first
    // refusal. The exit figure is negative when every replica refused before the test saw the child
    // exit (the revocation commits and is announced well before the process has ended).
    const last = Math.max(...first.map((refusal) => refusal.at))
    console.log(
      `revocation across Fastify, Express and gRPC replicas: command start to last refusal ${last - startedAt} ms, command exit to last refusal ${last - exitedAt} ms (${first.map((r) => `${r.kind} ${r.at - startedAt} ms`).join(', ')})`,
    )
  })
})
