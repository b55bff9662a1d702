import { chmodSync, renameSync, writeFileSync } from 'node:fs'

/**
 * Writes a file atomically (a temporary file renamed over it), so a service that watches it never
 * reads half a certificate. `mode` 0o600 for keys.
 */
export function writeFileAtomic(path: string, text: string, mode = 0o644): void {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text, { mode })
  chmodSync(temporary, mode)
  renameSync(temporary, path)
}
