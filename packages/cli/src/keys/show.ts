import { KeyStoreError } from '@callsign/api-key'
import { type Command, EXIT, jsonOutput } from '../command.js'
import { keyIdArgument, openStore, publicRecord, STORE_OPTION, status } from './shared.js'

export const showSubcommand: Command = {
  name: 'show',
  summary: 'Show one key record (never the key or its secret)',
  usage: '<id|key> [--json] [--store <file|url>]',
  description: 'Takes a key id, or a whole key (its id is read out of it; the key is never printed).',
  positionals: ['<id|key>'],
  options: { store: STORE_OPTION },
  json: '{ schema, key: { id, owner, scopes, state, status, createdAt, expiresAt, … } }',
  async run({ values, positionals, json }, io) {
    const id = keyIdArgument(positionals[0]!)
    const record = await (await openStore(values.store, io)).find(id)
    if (!record) throw new KeyStoreError('ERR_KEY_NOT_FOUND', `no key with id ${JSON.stringify(id)}`)
    const now = Date.now()
    if (json) {
      io.stdout.write(jsonOutput('keys.show', { key: publicRecord(record, now) }))
      return EXIT.ok
    }
    const shown: [string, string][] = [
      ['id', record.id],
      ['owner', record.owner],
      ['status', status(record, now)],
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
