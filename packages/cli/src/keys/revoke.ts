import { type CommandIo, EXIT } from '../command.js'
import { openStore, parse, publicRecord } from './shared.js'
import type { Subcommand } from './subcommand.js'

export const revokeSubcommand: Subcommand = {
  name: 'revoke',
  summary: 'Revoke a key at once',
  help: `Usage: callsign keys revoke <id> [--json] [--store <file>]

Revokes a key. Running services that watch the store refuse it within a second.

Options:
  --json              print the revoked record as one JSON object
  --store <file>      the key store (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  -h, --help          show this help
`,
  async run(argv: readonly string[], io: CommandIo) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, store: { type: 'string' } }, 1)
    const record = await openStore(values.store, io).revoke(positionals[0]!)
    if (values.json) io.stdout.write(`${JSON.stringify(publicRecord(record), null, 2)}\n`)
    io.stderr.write(`revoked key ${record.id} (${record.owner})\n`)
    return EXIT.ok
  },
}
