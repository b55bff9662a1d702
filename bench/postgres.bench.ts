import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiKeyVerifier, createApiKey, fileKeyStore } from '@callsign/api-key'
import type { AuthRequest } from '@callsign/core'
import { migrate, type PostgresKeyStore, postgresKeyStore } from '@callsign/store-postgres'
import {
  DATABASE_URL,
  dropSchema,
  eventually,
  sql,
} from '../packages/store-postgres/test/support/postgres.js'
import {
  type ReplicaProcess,
  refusals,
  startReplica,
} from '../packages/store-postgres/test/support/replica-process.js'
import { bundleWorker } from '../test/support/bundle-worker.js'
import { measure, table } from './support/measure.js'

const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 40)

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const request = (key: string): AuthRequest => ({
  transport: 'http',
  method: 'GET',
  route: '/orders/:id',
  header: (name) => (name === 'authorization' ? [`Bearer ${key}`] : []),
})

/**
 * Revocation across replicas: three service processes (Fastify, Express, gRPC; each its own store
 * and verifier, calling itself with the key every few milliseconds) on one database. Each round the
 * bench revokes the key through its own store, then restores it and waits until every replica
 * accepts it again. Measured from the revoke's return (committed and announced) to the last
 * replica's first refusal, in epoch milliseconds across processes on one host.
 */
async function propagation(schema: string): Promise<number[]> {
  const script = await bundleWorker(
    new URL('../packages/store-postgres/test/support/service-replica.ts', import.meta.url),
  )
  const writer = postgresKeyStore(DATABASE_URL, { schema, listen: false })
  const { key, record } = await createApiKey(writer, { owner: 'billing', scopes: ['orders:read'] })
  const replicas: ReplicaProcess[] = (['fastify', 'express', 'grpc'] as const).map((kind) =>
    startReplica(script, DATABASE_URL, schema, kind, key),
  )
  const readyCount = (replica: ReplicaProcess) => replica.lines.filter((line) => line === 'ready').length
  try {
    const latencies: number[] = []
    for (let round = 0; round < REVOCATIONS; round++) {
      await eventually(() => replicas.every((r) => readyCount(r) === round + 1), 60_000)
      await new Promise((resolve) => setTimeout(resolve, 20 + (round % 7) * 3))
      await writer.revoke(record.id)
      const revokedAt = Date.now()
      await eventually(() => replicas.every((r) => refusals(r).length === round + 1), 30_000)
      latencies.push(Math.max(...replicas.map((r) => (refusals(r)[round] as { at: number }).at)) - revokedAt)
      await writer.update(record.id, (current) => ({ ...current, state: 'active', revokedAt: null }))
    }
    return latencies.sort((a, b) => a - b)
  } finally {
    for (const replica of replicas) replica.stop()
    await writer.close()
  }
}

/** A cached key's verification with each store, in interleaved rounds; the file store is the baseline. */
async function cachedCost(schema: string) {
  const dir = await mkdtemp(join(tmpdir(), 'callsign-bench-pg-'))
  const store: PostgresKeyStore = postgresKeyStore(DATABASE_URL, { schema })
  const file = fileKeyStore(join(dir, 'keys.json'), { watch: false })
  try {
    await store.ready()
    const inPostgres = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    const inFile = await createApiKey(file, { owner: 'billing', scopes: ['orders:read'] })
    const pgVerifier = apiKeyVerifier({ store })
    const fileVerifier = apiKeyVerifier({ store: file })
    const pgRequest = request(inPostgres.key)
    const fileRequest = request(inFile.key)
    if ((await pgVerifier.verify(pgRequest))?.id !== 'billing')
      throw new Error('bench setup: key not accepted')
    if ((await fileVerifier.verify(fileRequest))?.id !== 'billing')
      throw new Error('bench setup: key not accepted')
    return await measure(
      [
        ['file store: verify a cached key (baseline)', () => fileVerifier.verify(fileRequest)],
        ['PostgreSQL store: verify a cached key', () => pgVerifier.verify(pgRequest)],
      ],
      { iterations: 20_000, rounds: 7 },
    )
  } finally {
    file.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function run(): Promise<string> {
  await sql('SELECT 1') // fails here, plainly, when PostgreSQL is not reachable
  const schema = `bench_pg_${process.pid}`
  await migrate(DATABASE_URL, { schema })
  try {
    const latencies = await propagation(schema)
    const rows = await cachedCost(schema)
    return [
      '## PostgreSQL store: revocation across replicas, and the cost of a cached key',
      '',
      'Three service processes (Fastify, Express, gRPC, each with its own PostgreSQL store and verifier) call',
      `themselves with one key every few milliseconds; the bench revokes it and restores it, ${REVOCATIONS} times.`,
      "From the revoke's return (committed, announced by `NOTIFY`) to the last replica's first refusal:",
      '',
      '| p50 ms | p99 ms | max ms | goal p99 |',
      '|---:|---:|---:|---:|',
      `| ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${latencies.at(-1)!.toFixed(1)} | < 1 000 |`,
      '',
      'A cached key, each store in interleaved rounds: the verifier answers from its cache synchronously with',
      'either; with the PostgreSQL store it also asks `isStale()` (a boolean) for the stale rule on each request.',
      '',
      table(rows, 'file store: verify a cached key (baseline)'),
    ].join('\n')
  } finally {
    await dropSchema(schema)
  }
}
