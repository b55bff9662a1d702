import { rotateApiKey } from '@callsign/api-key'
import { type Command, EXIT } from '../command.js'
import { parseDuration } from '../parse-duration.js'
import { deliverKey } from './deliver-key.js'
import { keyIdArgument, openStore, parseExpires, STORE_OPTION } from './shared.js'

export const rotateSubcommand: Command = {
  name: 'rotate',
  summary: 'Replace a key; the old one works for a grace period',
  usage: '<id|key> [--grace 1h] [options]',
  description: `Creates a new key with the same owner, scopes and labels, and prints it once, alone on stdout
(or writes it to --out). The old key keeps working for the grace period, never past its own expiry.`,
  positionals: ['<id|key>'],
  options: {
    grace: {
      type: 'string',
      value: '<duration>',
      help: 'how long the old key keeps working: 24h (default), 1h, 15m;\nuse "callsign keys revoke" to end it at once',
    },
    expires: {
      type: 'string',
      value: '<d|never>',
      help: "lifetime of the new key (default: the old key's lifetime, or never if it had none)",
    },
    out: {
      type: 'string',
      value: '<file>',
      help: 'write the new key to this new file (mode 0600) instead of stdout',
    },
    store: STORE_OPTION,
  },
  json: '{ schema, id, owner, scopes, createdAt, expiresAt, …, key } of the new key (no "key" with --out)',
  async run({ values, positionals, json }, io) {
    const graceMs = values.grace === undefined ? undefined : parseDuration(String(values.grace), '--grace')
    const store = await openStore(values.store, io, { write: true })
    const id = keyIdArgument(positionals[0]!)
    let expiresIn = parseExpires(values.expires)
    if (expiresIn === undefined) {
      // the new key lives as long as the old one was made to, not the library's default
      const old = await store.find(id)
      if (old) {
        expiresIn = old.expiresAt === null ? 'never' : Date.parse(old.expiresAt) - Date.parse(old.createdAt)
      }
    }
    await deliverKey(
      io,
      values.out as string | undefined,
      json,
      async () => {
        const rotated = await rotateApiKey(store, id, {
          ...(graceMs === undefined ? {} : { graceMs }),
          ...(expiresIn === undefined ? {} : { expiresIn }),
        })
        io.stderr.write(`key ${rotated.previous.id} stays valid until ${rotated.previous.graceUntil}\n`)
        return rotated
      },
      'rotated to',
    )
    return EXIT.ok
  },
}
