import { randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { open, readdir, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Replaces the store file atomically: a temporary file beside it (mode 0600), fsynced, then
 * `beforeRename` (the last check that this writer may still write: it throws to abandon the write),
 * then the rename and an fsync of the folder. Readers see the old file or the new, never a mix.
 * Returns the new file's status (taken before the rename, which keeps it): its identity as written.
 */
export async function replaceStoreFile(
  file: string,
  text: string,
  beforeRename: () => Promise<void>,
): Promise<Stats> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', 0o600)
  let written: Stats
  try {
    try {
      await handle.chmod(0o600) // whatever the umask
      await handle.writeFile(text, 'utf8')
      await handle.sync()
      written = await handle.stat()
    } finally {
      await handle.close()
    }
    await beforeRename()
    await rename(temp, file)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  try {
    const folder = await open(dirname(file), 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  } catch {
    // some platforms cannot fsync a folder; the rename is still atomic
  }
  return written
}

/**
 * Deletes the temporary files that writers killed mid-write left beside the store (each a full
 * copy of it). Called by the lock holder after a good write: no other writer can be using one then.
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
