import { spawn } from 'node:child_process'
import { createApiKey } from '@callsign/api-key'
import { postgresKeyStore } from '@callsign/store-postgres'
import { beforeAll, describe, expect, it } from 'vitest'
import { bundleWorker } from '../../../test/support/bundle-worker.js'
import { DATABASE_URL } from './support/postgres.js'
import { testDatabase } from './support/test-database.js'

const { postgres, schema } = await testDatabase('the PostgreSQL concurrent-writers test', 'writers', {
  migrated: true,
})

function run(
  script: string,
  args: string[],
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args])
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (err += chunk))
    child.on('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean), stderr: err }))
  })
}

let script = ''
beforeAll(async () => {
  if (postgres) script = await bundleWorker(new URL('./support/writer-worker.ts', import.meta.url))
})

describe.skipIf(!postgres)('concurrent writers in several processes', () => {
  it('loses no create and no update: four processes, each creating keys and updating one shared key', async () => {
    const store = postgresKeyStore(DATABASE_URL, { schema })
    try {
      const shared = await createApiKey(store, { owner: 'shared', scopes: ['orders:read'] })
      const workers = ['1', '2', '3', '4']
      const count = 15
      const results = await Promise.all(
        workers.map((worker) => run(script, [DATABASE_URL, schema, worker, shared.record.id, String(count)])),
      )
      for (const result of results) {
        expect(result.stderr).toBe('')
        expect(result.code).toBe(0)
        expect(result.lines.at(-1)).toBe('done')
      }
      const created = results.flatMap((result) => result.lines.slice(0, -1))
      const records = await store.list()
      expect(new Set(created).size).toBe(workers.length * count)
      for (const id of created) expect(records.some((record) => record.id === id)).toBe(true)
      const labels = (await store.find(shared.record.id))?.labels ?? {}
      expect(Object.keys(labels).length).toBe(workers.length * count)
    } finally {
      await store.close()
    }
  }, 60_000)
})
