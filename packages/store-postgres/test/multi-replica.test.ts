import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createApiKey } from '@callsign/api-key'
import { migrate, postgresKeyStore } from '@callsign/store-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { bundleWorker } from './support/bundle-worker.js'
import { DATABASE_URL, dropSchema, eventually, postgresReachable, testSchema } from './support/postgres.js'

const postgres = await postgresReachable('the PostgreSQL multi-replica test')
const schema = testSchema('replicas')
const children: ChildProcessWithoutNullStreams[] = []
let script = ''
beforeAll(async () => {
  if (!postgres) return
  await migrate(DATABASE_URL, { schema })
  script = await bundleWorker('replica-worker')
})
afterAll(async () => {
  for (const child of children) child.kill()
  if (postgres) await dropSchema(schema)
})

/** A replica process and the lines it printed so far. */
function replica(key: string): { lines: string[] } {
  const child = spawn(process.execPath, [script, DATABASE_URL, schema, key])
  children.push(child)
  const seen = { lines: [] as string[] }
  let pending = ''
  child.stdout.on('data', (chunk) => {
    pending += chunk
    const parts = pending.split('\n')
    pending = parts.pop() ?? ''
    seen.lines.push(...parts)
  })
  return seen
}

// A first part of the multi-replica test: each replica is a process with its own store and
// verifier (not yet a Fastify, Express and gRPC service each).
describe.skipIf(!postgres)('revocation across replicas', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('`callsign keys revoke` in a fourth process: all three replica processes refuse the key', async () => {
    const store = postgresKeyStore(DATABASE_URL, { schema, listen: false })
    const { key, record } = await createApiKey(store, { owner: 'billing', scopes: ['orders:read'] })
    await store.close()
    const replicas = [replica(key), replica(key), replica(key)]
    await eventually(() => replicas.every((r) => r.lines.includes('ready')), 30_000)

    const revoked = await runCli(['keys', 'revoke', record.id, '--store', `${DATABASE_URL}?schema=${schema}`])
    const exitedAt = Date.now()
    expect(revoked.code).toBe(0)
    await eventually(() => replicas.every((r) => r.lines.some((line) => line.startsWith('refused '))), 10_000)
    const refusedAt = replicas.map((r) =>
      Number(r.lines.find((line) => line.startsWith('refused '))?.slice('refused '.length)),
    )
    // Reported, not asserted tightly: from the command's exit to the last replica's first refusal
    // (negative when every replica refused before the test saw the command exit).
    console.log(`revocation: command exit to last replica's refusal ${Math.max(...refusedAt) - exitedAt} ms`)
    expect(Math.max(...refusedAt) - exitedAt).toBeLessThan(5000)
  })
})
