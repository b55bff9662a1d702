import { type Command, EXIT, jsonOutput } from '../command.js'
import { openStore, publicRecord, STORE_OPTION, status } from './shared.js'

export const listSubcommand: Command = {
  name: 'list',
  summary: 'List keys (never a secret)',
  usage: '[--owner <service>] [--json] [--store <file|url>]',
  description: 'Lists the keys in the store: id, owner, status, expiry, scopes. Never a key or a secret.',
  options: {
    owner: { type: 'string', value: '<service>', help: "only this service's keys" },
    store: STORE_OPTION,
  },
  json: '{ schema, keys: [{ id, owner, scopes, state, status, createdAt, expiresAt, … }] }',
  async run({ values, json }, io) {
    const records = (await (await openStore(values.store, io)).list()).filter(
      (record) => values.owner === undefined || record.owner === values.owner,
    )
    const now = Date.now()
    if (json) {
      io.stdout.write(jsonOutput('keys.list', { keys: records.map((r) => publicRecord(r, now)) }))
      return EXIT.ok
    }
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
