import { rotateApiKey } from '@callsign/api-key'
import { type CommandIo, EXIT } from '../command.js'
import { parseDuration } from '../parse-duration.js'
import { deliverKey } from './deliver-key.js'
import { openStore, parse, parseExpires } from './shared.js'
import type { Subcommand } from './subcommand.js'

export const rotateSubcommand: Subcommand = {
  name: 'rotate',
  summary: 'Replace a key; the old one works for a grace period',
  help: `Usage: callsign keys rotate <id> [--grace 1h] [options]

Creates a new key with the same owner, scopes and labels, and prints it once, alone on stdout (or
writes it to --out). The old key keeps working for the grace period, never past its own expiry.

Options:
  --grace <duration>  how long the old key keeps working: 24h (default), 1h, 15m, 0s is not allowed;
                      use "callsign keys revoke" to end it at once
  --expires <d|never> lifetime of the new key (default 90d)
  --out <file>        write the new key to this new file (mode 0600) instead of stdout
  --json              print one JSON object with the new record, "id" and "key"
  --store <file|url>  the key store: a file or a postgres:// URL (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  -h, --help          show this help
`,
  async run(argv: readonly string[], io: CommandIo) {
    const { values, positionals } = parse(
      argv,
      {
        grace: { type: 'string' },
        expires: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        store: { type: 'string' },
      },
      1,
    )
    const graceMs = values.grace === undefined ? undefined : parseDuration(String(values.grace), '--grace')
    const expiresIn = parseExpires(values.expires)
    const store = await openStore(values.store, io)
    await deliverKey(
      io,
      values.out as string | undefined,
      values.json === true,
      async () => {
        const rotated = await rotateApiKey(store, positionals[0]!, {
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
