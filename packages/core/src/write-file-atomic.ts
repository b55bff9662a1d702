import { randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface WriteFileAtomicOptions {
  /** The new file's mode, whatever the umask. Default 0600. */
  readonly mode?: number
  /**
   * Runs after the temporary file is written and fsynced, just before the rename: the last check
   * that this writer may still write (a lock it holds). It throws to abandon the write.
   */
  readonly beforeRename?: () => Promise<void>
}

/**
 * Replaces a file so that readers (a service watching it) see the old content or the new, never a
 * mix, and a crash leaves one of the two: write a temporary file beside it with the final mode
 * (default 0600), fsync it, rename it over the target, fsync the folder. The temporary file is
 * named `<path>.<pid>.<hex>.tmp`, and removed when the write fails. Returns the new file's status,
 * taken before the rename (which keeps it): its identity as written.
 *
 * @example
 * await writeFileAtomic('certs-dev/orders/tls.key', pem)          // 0600
 * await writeFileAtomic('keys/jwks.json', json, { mode: 0o644 })
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: WriteFileAtomicOptions = {},
): Promise<Stats> {
  const mode = options.mode ?? 0o600
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', mode)
  let written: Stats
  try {
    try {
      await handle.chmod(mode) // whatever the umask
      await handle.writeFile(text, 'utf8')
      await handle.sync()
      written = await handle.stat()
    } finally {
      await handle.close()
    }
    await options.beforeRename?.()
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
  try {
    const folder = await open(dirname(path), 'r')
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
