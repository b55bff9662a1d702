// One replica for the multi-replica test: replica-worker <url> <schema> <key>
// Verifies the key every few milliseconds through its own store and verifier; prints "ready" after
// the first acceptance and "refused <epoch ms>" at the first refusal, then exits.
import { apiKeyVerifier } from '@callsign/api-key'
import { AuthError } from '@callsign/core'
import { postgresKeyStore } from '@callsign/store-postgres'

const [url, schema, key] = process.argv.slice(2) as [string, string, string]
const store = postgresKeyStore(url, { schema })
const verifier = apiKeyVerifier({ store })
const request = {
  transport: 'http' as const,
  method: 'GET',
  route: '/orders',
  header: (name: string) => (name === 'authorization' ? [`Bearer ${key}`] : []),
}
await store.ready()
let ready = false
for (;;) {
  try {
    await verifier.verify(request)
    if (!ready) process.stdout.write('ready\n')
    ready = true
  } catch (error) {
    if (ready && error instanceof AuthError && error.reason === 'revoked') {
      process.stdout.write(`refused ${Date.now()}\n`)
      break
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 2))
}
await store.close()
