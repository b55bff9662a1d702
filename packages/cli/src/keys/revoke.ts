import { type CommandIo, EXIT } from '../command.js'
import { openStore, parse, publicRecord } from './shared.js'
import type { Subcommand } from './subcommand.js'

export const revokeSubcommand: Subcommand = {
  name: 'revoke',
  summary: 'Revoke a key at once',
  help: `Usage: callsign keys revoke <id> [--json] [--store <file>]

Revokes a key. Exit 0 means the revocation is on disk and no other writer can undo it; running
services that watch the store refuse the key once they have reloaded it (within about 50 ms). If
another writer holds the store's lock past 10 s, nothing is written and the exit code is 1.

Options:
  --json              print the revoked record as one JSON object
  --store <file|url>  the key store: a file or a postgres:// URL (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  -h, --help          show this help
`,
  async run(argv: readonly string[], io: CommandIo) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, store: { type: 'string' } }, 1)
    const record = await (await openStore(values.store, io)).revoke(positionals[0]!)
    if (values.json) io.stdout.write(`${JSON.stringify(publicRecord(record), null, 2)}\n`)
    io.stderr.write(`revoked key ${record.id} (${record.owner})\n`)
    return EXIT.ok
  },
}
