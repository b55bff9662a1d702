import { type CommandIo, EXIT } from '../command.js'
import { openStore, parse, publicRecord, status } from './shared.js'
import type { Subcommand } from './subcommand.js'

export const listSubcommand: Subcommand = {
  name: 'list',
  summary: 'List keys (never a secret)',
  help: `Usage: callsign keys list [--owner <service>] [--json] [--store <file>]

Lists the keys in the store: id, owner, status, expiry, scopes. Never a key or a secret.

Options:
  --owner <service>   only this service's keys
  --json              print a JSON array of records
  --store <file|url>  the key store: a file or a postgres:// URL (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  -h, --help          show this help
`,
  async run(argv: readonly string[], io: CommandIo) {
    const { values } = parse(argv, {
      owner: { type: 'string' },
      json: { type: 'boolean' },
      store: { type: 'string' },
    })
    const records = (await (await openStore(values.store, io)).list()).filter(
      (record) => values.owner === undefined || record.owner === values.owner,
    )
    if (values.json) {
      io.stdout.write(`${JSON.stringify(records.map(publicRecord), null, 2)}\n`)
      return EXIT.ok
    }
    const now = Date.now()
    const rows = [
      ['ID', 'OWNER', 'STATUS', 'EXPIRES', 'SCOPES'],
      ...records.map((r) => [r.id, r.owner, status(r, now), r.expiresAt ?? 'never', r.scopes.join(' ')]),
    ]
    // A loop, not Math.max(...column): spreading 100 000+ rows as arguments overflows the stack.
    const widths = rows[0]!.map((_, column) => {
      let width = 0
      for (const row of rows) width = Math.max(width, row[column]!.length)
      return width
    })
    const lines = rows.map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    for (let start = 0; start < lines.length; start += 1000) {
      io.stdout.write(`${lines.slice(start, start + 1000).join('\n')}\n`)
    }
    if (records.length === 0) io.stderr.write('no keys\n')
    return EXIT.ok
  },
}
