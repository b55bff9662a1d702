import { createApiKey } from '@callsign/api-key'
import { type Command, EXIT, UsageError } from '../command.js'
import { deliverKey } from './deliver-key.js'
import { checkScopes, openStore, parseExpires, STORE_OPTION } from './shared.js'

const LABEL = /^([a-z0-9][a-z0-9._-]{0,62})=(.{0,256})$/

export const createSubcommand: Command = {
  name: 'create',
  summary: 'Create a key and print it once',
  usage: '--owner <service> --scope <s> [--scope <s>…] [options]',
  description: `The plaintext key is printed once, alone on stdout (everything else goes to stderr), or
written to --out with mode 0600. Only a hash of its secret is stored.`,
  options: {
    owner: { type: 'string', value: '<service>', help: 'the service the key authenticates as (required)' },
    scope: {
      type: 'string',
      multiple: true,
      value: '<s>',
      help: 'a scope "resource:action" the key grants (required)',
    },
    expires: {
      type: 'string',
      value: '<d|never>',
      help: 'lifetime: 30d, 12h, 15m, 90s, or never (default 90d)',
    },
    label: { type: 'string', multiple: true, value: '<k=v>', help: 'a label' },
    out: {
      type: 'string',
      value: '<file>',
      help: 'write the key to this new file (mode 0600) instead of stdout',
    },
    store: STORE_OPTION,
  },
  json: '{ schema, id, owner, scopes, createdAt, expiresAt, state, labels, …, key } (no "key" with --out)',
  async run({ values, json }, io) {
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
    const store = await openStore(values.store, io, { create: true, write: true })
    await deliverKey(
      io,
      values.out as string | undefined,
      json,
      () => createApiKey(store, { owner, scopes, labels, ...(expiresIn === undefined ? {} : { expiresIn }) }),
      'created',
    )
    return EXIT.ok
  },
}
