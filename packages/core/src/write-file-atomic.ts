import { randomBytes } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Replaces a file so that readers (a service watching it) see the old content or the new, never a
 * mix, and a crash leaves one of the two: write a temporary file beside it with the final mode
 * (default 0600), fsync it, rename it over the target, fsync the folder.
 *
 * @example
 * await writeFileAtomic('certs-dev/orders/tls.key', pem)          // 0600
 * await writeFileAtomic('keys/jwks.json', json, { mode: 0o644 })
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: { mode?: number } = {},
): Promise<void> {
  const mode = options.mode ?? 0o600
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', mode)
  try {
    await handle.chmod(mode) // whatever the umask
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
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
}
