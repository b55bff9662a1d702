import { KeyStoreError } from '@callsign/api-key'
import { type CommandIo, EXIT } from '../command.js'
import { openStore, parse, publicRecord, status } from './shared.js'
import type { Subcommand } from './subcommand.js'

export const showSubcommand: Subcommand = {
  name: 'show',
  summary: 'Show one key record',
  help: `Usage: callsign keys show <id> [--json] [--store <file>]

Shows one key's record (never the key or its secret).

Options:
  --json              print the record as one JSON object
  --store <file|url>  the key store: a file or a postgres:// URL (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  -h, --help          show this help
`,
  async run(argv: readonly string[], io: CommandIo) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, store: { type: 'string' } }, 1)
    const id = positionals[0]!
    const record = await (await openStore(values.store, io)).find(id)
    if (!record)
      throw new KeyStoreError('ERR_KEY_NOT_FOUND', `no key with id "${id.replace(/[^\x21-\x7e]/g, '?')}"`)
    if (values.json) {
      io.stdout.write(`${JSON.stringify(publicRecord(record), null, 2)}\n`)
      return EXIT.ok
    }
    const shown: [string, string][] = [
      ['id', record.id],
      ['owner', record.owner],
      ['status', status(record, Date.now())],
      ['scopes', record.scopes.join(' ')],
      ['created', record.createdAt],
      ['expires', record.expiresAt ?? 'never'],
      ...(record.revokedAt ? ([['revoked', record.revokedAt]] as [string, string][]) : []),
      ...(record.rotatedFrom ? ([['rotated from', record.rotatedFrom]] as [string, string][]) : []),
      ...(record.rotatedTo ? ([['rotated to', record.rotatedTo]] as [string, string][]) : []),
      ...(record.graceUntil ? ([['grace until', record.graceUntil]] as [string, string][]) : []),
      ...Object.entries(record.labels).map(([name, value]): [string, string] => [`label ${name}`, value]),
    ]
    for (const [name, value] of shown) io.stdout.write(`${`${name}:`.padEnd(14)}${value}\n`)
    return EXIT.ok
  },
}
