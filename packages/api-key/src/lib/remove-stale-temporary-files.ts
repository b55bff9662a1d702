import { readdir, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Deletes the temporary files that writers killed mid-write left beside the store (each a full
 * copy of it), named as `writeFileAtomic` names them: `<store>.<pid>.<hex>.tmp`. Called by the lock
 * holder after a good write: no other writer can be using one then.
 */
export async function removeStaleTemporaryFiles(file: string): Promise<void> {
  const name = basename(file)
  const ours = (entry: string) =>
    entry.startsWith(`${name}.`) && /^\d+\.[0-9a-f]+\.tmp$/.test(entry.slice(name.length + 1))
  try {
    for (const entry of await readdir(dirname(file))) {
      if (ours(entry)) await unlink(join(dirname(file), entry)).catch(() => {})
    }
  } catch {
    // cleanup is best effort; the next good write tries again
  }
}
