import { createApiKey } from '@callsign/api-key'
import { type CommandIo, EXIT, UsageError } from '../command.js'
import { deliverKey } from './deliver-key.js'
import { checkScopes, openStore, parse, parseExpires } from './shared.js'
import type { Subcommand } from './subcommand.js'

const LABEL = /^([a-z0-9][a-z0-9._-]{0,62})=(.{0,256})$/

export const createSubcommand: Subcommand = {
  name: 'create',
  summary: 'Create a key and print it once',
  help: `Usage: callsign keys create --owner <service> --scope <s> [--scope <s>…] [options]

Creates an API key. The plaintext key is printed once, alone on stdout (everything else goes to
stderr), or written to --out with mode 0600. Only a hash of its secret is stored.

Options:
  --owner <service>   the service the key authenticates as (required)
  --scope <s>         a scope "resource:action" the key grants (required, repeatable)
  --expires <d|never> lifetime: 30d, 12h, 15m, 90s, or never (default 90d)
  --label <k=v>       a label (repeatable)
  --out <file>        write the key to this new file (mode 0600) instead of stdout
  --json              print one JSON object with the record, "id" and "key" (no "key" with --out)
  --store <file|url>  the key store: a file or a postgres:// URL (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  -h, --help          show this help
`,
  async run(argv: readonly string[], io: CommandIo) {
    const { values } = parse(argv, {
      owner: { type: 'string' },
      scope: { type: 'string', multiple: true },
      expires: { type: 'string' },
      label: { type: 'string', multiple: true },
      out: { type: 'string' },
      json: { type: 'boolean' },
      store: { type: 'string' },
    })
    const owner = values.owner
    if (typeof owner !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(owner)) {
      throw new UsageError('--owner <service> is required (a service id without whitespace)')
    }
    const scopes = checkScopes(values.scope)
    const expiresIn = parseExpires(values.expires)
    const labels: Record<string, string> = {}
    for (const label of (values.label as string[] | undefined) ?? []) {
      const match = LABEL.exec(label)
      if (!match)
        throw new UsageError(
          `--label must be name=value with a lower-case name, not ${JSON.stringify(label)}`,
        )
      labels[match[1]!] = match[2]!
    }
    const store = await openStore(values.store, io)
    await deliverKey(
      io,
      values.out as string | undefined,
      values.json === true,
      () => createApiKey(store, { owner, scopes, labels, ...(expiresIn === undefined ? {} : { expiresIn }) }),
      'created',
    )
    return EXIT.ok
  },
}
