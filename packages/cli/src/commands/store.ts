import { type Command, type CommandIo, EXIT, UsageError } from '../command.js'
import { isPostgresUrl, parse, shownStore, storePath } from '../keys/shared.js'

const help = `Usage: callsign store migrate [--store <url>]

Subcommands:
  migrate   create or upgrade the PostgreSQL key store's tables (safe to run again)

Options:
  --store <url>   postgres://user@host/db, optionally ?schema=<name> (default schema "callsign");
                  default: $CALLSIGN_KEY_STORE
Exit codes: 0 ok, 1 failure, 2 usage error.
`

/**
 * \`callsign store migrate\`: brings a PostgreSQL key store's schema to this release's version. The
 * only way the tables are made: a service never creates them by itself.
 *
 * @example
 * // callsign store migrate --store postgres://callsign@db.internal/callsign
 */
export const storeCommand: Command = {
  name: 'store',
  summary: 'Create or upgrade a PostgreSQL key store (migrate)',
  async run(argv: readonly string[], io: CommandIo) {
    const [name, ...rest] = argv
    if (
      name === '--help' ||
      name === '-h' ||
      name === 'help' ||
      rest.includes('--help') ||
      rest.includes('-h')
    ) {
      io.stdout.write(help)
      return EXIT.ok
    }
    if (name === undefined) {
      io.stderr.write(help)
      return EXIT.usage
    }
    if (name !== 'migrate') throw new UsageError(`unknown subcommand "${name}"`)
    const { values } = parse(rest, { store: { type: 'string' } })
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
        : `${shownStore(where)}: applied version ${result.applied.join(', ')}; now at schema version ${result.version}\n`,
    )
    return EXIT.ok
  },
}
