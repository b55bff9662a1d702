import { copyFile, writeFile } from 'node:fs/promises'
import { fileKeyStore } from '@callsign/api-key'
import { serializeStore } from '../../packages/api-key/src/lib/store-file-format.js'
import { bulkId } from '../../packages/api-key/test/support/bulk-store.js'

/**
 * Run as a process of its own, as `callsign keys revoke` is: makes the files of `count` successive
 * changes to the store given as its first argument, the k-th as `<store>.<k>`; the bench later puts
 * them in place by a rename, the last step of every store write. With `perChange` 1 (the default),
 * each change is one revoke, made in a copy of the store by the library's revoke, as the CLI calls
 * it; with more, each change revokes that many keys at once, as a tool writing the file itself would
 * (the store's own writes change one record, two for a rotation).
 */
const [path, count, perChange] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4] ?? 1)]
const work = `${path}.writer`
await copyFile(path, work)
const store = fileKeyStore(work, { watch: false })
let records = await store.list()
for (let k = 0; k < count; k++) {
  if (perChange === 1) {
    await store.revoke(bulkId(k))
    await copyFile(work, `${path}.${k}`)
    continue
  }
  const revokedAt = new Date().toISOString()
  records = records.map((record, i) =>
    Math.floor(i / perChange) === k ? { ...record, state: 'revoked', revokedAt } : record,
  )
  await writeFile(`${path}.${k}`, serializeStore(records))
}
store.close()
