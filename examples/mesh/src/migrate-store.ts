// The compose `postgres` profile's one-shot: creates (or upgrades) the PostgreSQL key store named by
// KEY_STORE, then copies the provisioned file store's records into it as stored (secret hashes only;
// ids already there are left alone), as `callsign store migrate` and `callsign store copy` do.
import { fileKeyStore, KeyStoreError } from '@callsign/api-key'
import { migrate, postgresKeyStore } from '@callsign/store-postgres'

const url = process.env.KEY_STORE ?? ''
const from = process.env.FILE_KEY_STORE ?? '/store/keys.json'
const { version } = await migrate(url)
const file = fileKeyStore(from, { watch: false })
const store = postgresKeyStore(url, { listen: false })
let copied = 0
for (const record of await file.list()) {
  try {
    await store.create(record)
    copied++
  } catch (error) {
    if (!(error instanceof KeyStoreError && error.code === 'ERR_KEY_EXISTS')) throw error
  }
}
file.close()
await store.close()
console.log(`key store at schema version ${version}; ${copied} key records copied from ${from}`)
