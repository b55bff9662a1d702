import { open, unlink } from 'node:fs/promises'
import type { ApiKeyRecord } from '@callsign/api-key'
import { type CommandIo, jsonOutput } from '../command.js'
import { describe, publicRecord } from './shared.js'

/**
 * Hands a new plaintext key over exactly once: alone on stdout, or into `--out` (created with mode
 * 0600, never over an existing file), or inside the `--json` object. Everything else goes to stderr.
 * `create` makes the key once the output file is open, so a failure leaves no orphan key behind.
 */
export async function deliverKey(
  io: CommandIo,
  out: string | undefined,
  json: boolean,
  create: () => Promise<{ key: string; record: ApiKeyRecord }>,
  verb: string,
): Promise<void> {
  const file = out === undefined ? undefined : await open(out, 'wx', 0o600)
  let created: { key: string; record: ApiKeyRecord }
  try {
    created = await create()
  } catch (error) {
    await file?.close()
    if (out !== undefined) await unlink(out).catch(() => {})
    throw error
  }
  try {
    const { key, record } = created
    if (file) {
      await file.writeFile(`${key}\n`)
      await file.sync()
    }
    if (json) {
      const shown = publicRecord(record, Date.now())
      io.stdout.write(
        jsonOutput(verb === 'created' ? 'keys.create' : 'keys.rotate', file ? shown : { ...shown, key }),
      )
    } else if (!file) {
      io.stdout.write(`${key}\n`)
    }
    io.stderr.write(`${verb} ${describe(record)}${file ? `; key written to ${out}` : ''}\n`)
  } finally {
    await file?.close()
  }
}
