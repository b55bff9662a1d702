import { type Command, EXIT, jsonOutput } from '../command.js'
import { keyIdArgument, openStore, publicRecord, STORE_OPTION } from './shared.js'

export const revokeSubcommand: Command = {
  name: 'revoke',
  summary: 'Revoke a key at once',
  usage: '<id|key> [--json] [--store <file|url>]',
  description: `Exit 0 means the revocation is on disk and no other writer can undo it; running services
that watch the store refuse the key once they have reloaded it (within about 50 ms). If another
writer holds the store's lock past 10 s, nothing is written and the exit code is 1. A key already
revoked is reported as such (exit 0, nothing written).`,
  positionals: ['<id|key>'],
  options: { store: STORE_OPTION },
  json: '{ schema, key: { id, owner, state: "revoked", revokedAt, … }, alreadyRevoked }',
  async run({ values, positionals, json }, io) {
    const id = keyIdArgument(positionals[0]!)
    const store = await openStore(values.store, io, { write: true })
    const before = await store.find(id)
    const alreadyRevoked = before?.state === 'revoked'
    const record = alreadyRevoked ? before : await store.revoke(id)
    if (json) {
      io.stdout.write(jsonOutput('keys.revoke', { key: publicRecord(record, Date.now()), alreadyRevoked }))
    }
    io.stderr.write(
      alreadyRevoked
        ? `key ${record.id} (${record.owner}) was already revoked at ${record.revokedAt}; nothing changed\n`
        : `revoked key ${record.id} (${record.owner})\n`,
    )
    return EXIT.ok
  },
}
