import { type Command, type CommandIo, EXIT, UsageError } from '../command.js'
import { createSubcommand } from '../keys/create.js'
import { listSubcommand } from '../keys/list.js'
import { revokeSubcommand } from '../keys/revoke.js'
import { rotateSubcommand } from '../keys/rotate.js'
import { showSubcommand } from '../keys/show.js'

const subcommands = [createSubcommand, listSubcommand, showSubcommand, rotateSubcommand, revokeSubcommand]

const help = `Usage: callsign keys <subcommand> [options]

Subcommands:
${subcommands.map((sub) => `  ${sub.name.padEnd(8)}${sub.summary}`).join('\n')}

The key store is --store <file|url>, else $CALLSIGN_KEY_STORE, else .callsign/keys.json (relative
to the working folder). A postgres://host/db URL (optionally ?schema=<name>) names a PostgreSQL store,
created with \`callsign store migrate\`. Run \`callsign keys <subcommand> --help\` for its options.
Exit codes: 0 ok, 1 failure, 2 usage error.
`

/**
 * `callsign keys`: create, list, show, rotate and revoke API keys in a file or PostgreSQL key store.
 *
 * @example
 * // callsign keys create --owner billing --scope orders:read --expires 30d > billing.key
 */
export const keysCommand: Command = {
  name: 'keys',
  summary: 'Create, list, show, rotate and revoke API keys',
  async run(argv: readonly string[], io: CommandIo) {
    const [name, ...rest] = argv
    if (name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(help)
      return EXIT.ok
    }
    const sub = subcommands.find((candidate) => candidate.name === name)
    if (!sub) {
      if (name === undefined) {
        io.stderr.write(help)
        return EXIT.usage
      }
      throw new UsageError(`unknown subcommand "${name}"`)
    }
    // Every subcommand takes -h/--help, answered here before its own options are read.
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(sub.help)
      return EXIT.ok
    }
    return sub.run(rest, io)
  },
}
