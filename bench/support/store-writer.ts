import { copyFile } from 'node:fs/promises'
import { fileKeyStore } from '@callsign/api-key'
import { bulkId } from '../../packages/api-key/test/support/bulk-store.js'

/**
 * Run as a process of its own, as `callsign keys revoke` is: revokes the bulk keys 0, 1, ... one at a
 * time in a copy of the store given as its argument (the same library call as the CLI's), and after
 * the k-th revoke copies the file to `<store>.<k>`. Each is the file the k-th of successive revokes
 * writes; the bench later puts them in place by a rename, the last step of every store write.
 */
const [path, count] = [process.argv[2]!, Number(process.argv[3])]
const work = `${path}.writer`
await copyFile(path, work)
const store = fileKeyStore(work, { watch: false })
for (let k = 0; k < count; k++) {
  await store.revoke(bulkId(k))
  await copyFile(work, `${path}.${k}`)
}
store.close()
