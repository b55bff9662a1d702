// One writer process for the concurrent-writers test:
// writer-worker <url> <schema> <worker> <shared key id> <count>
// creates <count> keys and adds <count> labels to the shared key, one update each, then prints
// the ids it created, one a line, and "done".
import { createApiKey } from '@callsign/api-key'
import { postgresKeyStore } from '@callsign/store-postgres'

const [url, schema, worker, sharedId, count] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
]
const store = postgresKeyStore(url, { schema, timeoutMs: 10_000 })
for (let i = 0; i < Number(count); i++) {
  const { record } = await createApiKey(store, { owner: `writer-${worker}`, scopes: ['orders:read'] })
  process.stdout.write(`${record.id}\n`)
  await store.update(sharedId, (current) => ({
    ...current,
    labels: { ...current.labels, [`w${worker}-${i}`]: 'x' },
  }))
}
process.stdout.write('done\n')
await store.close()
