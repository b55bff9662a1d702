import { type ApiKeyRecord, fileKeyStore, KeyStoreError } from '@callsign/api-key'
import { type Command, type CommandIo, EXIT, type ParsedArgs, UsageError } from '../command.js'
import { isPostgresUrl, mustExist, shownStore, storePath } from '../keys/shared.js'

const migrateSubcommand: Command = {
  name: 'migrate',
  summary: "Create or upgrade the PostgreSQL key store's tables (safe to run again)",
  usage: '[--store <url>]',
  options: {
    store: {
      type: 'string',
      value: '<url>',
      help: 'postgres://user@host/db, optionally ?schema=<name> (default schema "callsign");\ndefault: $CALLSIGN_KEY_STORE',
    },
  },
  async run({ values }, io) {
    if (values.store === undefined && !io.env.CALLSIGN_KEY_STORE) {
      throw new UsageError('--store <postgres://…> (or $CALLSIGN_KEY_STORE) is required')
    }
    const where = storePath(values.store, io)
    if (!isPostgresUrl(where))
      throw new UsageError('migrate needs a postgres:// URL; a file store needs none')
    const { migrate } = await import('@callsign/store-postgres')
    const result = await migrate(where)
    io.stdout.write(
      result.applied.length === 0
        ? `${shownStore(where)}: already at schema version ${result.version}\n`
        : `${shownStore(where)}: applied version${result.applied.length > 1 ? 's' : ''} ${result.applied.join(', ')}; now at schema version ${result.version}\n`,
    )
    return EXIT.ok
  },
}

const copySubcommand: Command = {
  name: 'copy',
  summary: 'Copy every record of a file store into a PostgreSQL store (hashes only, as stored)',
  usage: '--from <file> --to <url>',
  description: 'A record already there unchanged is skipped; a different one is reported (exit 1).',
  options: {
    from: { type: 'string', value: '<file>', help: 'the file key store to copy (required)' },
    to: { type: 'string', value: '<url>', help: 'the postgres:// key store to copy into (required)' },
  },
  run: copy,
}

/**
 * `callsign store migrate`: brings a PostgreSQL key store's schema to this release's version. The
 * only way the tables are made: a service never creates them by itself. `callsign store copy`
 * moves a file store into it.
 *
 * @example
 * // callsign store migrate --store postgres://callsign@db.internal/callsign
 */
export const storeCommand: Command = {
  name: 'store',
  summary: 'Create or upgrade a PostgreSQL key store (migrate), copy a file store into it (copy)',
  subcommands: [migrateSubcommand, copySubcommand],
}

/** `store copy`: the file's records, as stored (secret hashes, never keys), into the PostgreSQL store. */
async function copy({ values }: ParsedArgs, io: CommandIo): Promise<number> {
  const from = values.from
  const to = values.to
  if (typeof from !== 'string' || from === '' || isPostgresUrl(from))
    throw new UsageError('--from <file> is required')
  if (typeof to !== 'string' || !isPostgresUrl(to)) throw new UsageError('--to <postgres://…> is required')
  mustExist(from, '--from')
  const source = fileKeyStore(from, { watch: false })
  const { postgresKeyStore } = await import('@callsign/store-postgres')
  const target = postgresKeyStore(to, { listen: false })
  let copied = 0
  let same = 0
  const different: string[] = []
  try {
    for (const record of await source.list()) {
      try {
        await target.create(record)
        copied++
      } catch (error) {
        if (!(error instanceof KeyStoreError && error.code === 'ERR_KEY_EXISTS')) throw error
        const there = await target.find(record.id)
        if (there !== undefined && comparable(there) === comparable(record)) same++
        else different.push(record.id)
      }
    }
  } finally {
    await target.close()
  }
  io.stdout.write(`${shownStore(to)}: ${copied} copied, ${same} already there\n`)
  if (different.length === 0) return EXIT.ok
  io.stderr.write(`already there with different contents, left as they are: ${different.join(' ')}\n`)
  return EXIT.failure
}

/** A record as text with its labels in name order (a database may keep them in another order). */
function comparable(record: ApiKeyRecord): string {
  return JSON.stringify({ ...record, labels: Object.fromEntries(Object.entries(record.labels).sort()) })
}
