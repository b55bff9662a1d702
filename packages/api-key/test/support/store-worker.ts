/**
 * A real writer process for the lock tests: one store operation through `fileKeyStore`, then exit
 * 0 (the write is confirmed) or 1 (it failed; the error code on stderr).
 *
 *   store-worker.ts create <store> <owner>     prints the new key id
 *   store-worker.ts revoke <store> <id>        prints the id
 *   store-worker.ts hold <store> <id> <ms>     updates <id>, staying <ms> inside the lock: prints
 *                                              "inside" once it holds the lock and has read the file
 *
 * Environment: STORE_OPTIONS (JSON: lockTimeoutMs, staleLockMs); WAIT_FOR_GO=1 prints "ready" and
 * waits for a line on stdin before starting, so a test can start it at an exact moment.
 */
import { createInterface } from 'node:readline'
import { createApiKey, fileKeyStore, KeyStoreError } from '../../src/index.js'

const [op, path, arg, ms] = process.argv.slice(2)
if (!op || !path || !arg) throw new Error('usage: store-worker.ts <op> <store> <arg> [ms]')
const store = fileKeyStore(path, { watch: false, ...JSON.parse(process.env.STORE_OPTIONS ?? '{}') })

if (process.env.WAIT_FOR_GO === '1') {
  process.stdout.write('ready\n')
  const lines = createInterface({ input: process.stdin })
  await new Promise((go) => lines.once('line', go))
  lines.close()
}

try {
  if (op === 'create') {
    const { record } = await createApiKey(store, { owner: arg, scopes: ['orders:read'] })
    process.stdout.write(`${record.id}\n`)
  } else if (op === 'revoke') {
    process.stdout.write(`${(await store.revoke(arg)).id}\n`)
  } else if (op === 'hold') {
    await store.update(arg, (record) => {
      process.stdout.write('inside\n')
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms))
      return { ...record, labels: { ...record.labels, held: 'yes' } }
    })
    process.stdout.write('done\n')
  } else {
    throw new Error(`unknown op ${op}`)
  }
  process.exit(0)
} catch (error) {
  const code = error instanceof KeyStoreError ? error.code : 'other'
  process.stderr.write(`${code} ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
