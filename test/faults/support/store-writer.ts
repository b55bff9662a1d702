/**
 * A child process for the kill test: creates keys in a fileKeyStore in a loop and prints each key
 * id on stdout only after `createApiKey` resolved (the key is committed). Runs until killed.
 * Usage: store-writer.ts <store path> <owner>
 */
import { createApiKey, fileKeyStore } from '@callsign/api-key'

const [path, owner] = process.argv.slice(2)
if (!path || !owner) throw new Error('usage: store-writer.ts <store path> <owner>')
const store = fileKeyStore(path, { watch: false, staleLockMs: 60_000 })
for (;;) {
  const { record } = await createApiKey(store, { owner, scopes: ['orders:read'] })
  process.stdout.write(`${record.id}\n`)
}
