import type { Command } from '../command.js'
import { createSubcommand } from '../keys/create.js'
import { listSubcommand } from '../keys/list.js'
import { revokeSubcommand } from '../keys/revoke.js'
import { rotateSubcommand } from '../keys/rotate.js'
import { showSubcommand } from '../keys/show.js'

/**
 * `callsign keys`: create, list, show, rotate and revoke API keys in a file or PostgreSQL key store.
 *
 * @example
 * // callsign keys create --owner billing --scope orders:read --expires 30d > billing.key
 */
export const keysCommand: Command = {
  name: 'keys',
  summary: 'Create, list, show, rotate and revoke API keys',
  description: `The key store is --store <file|url>, else $CALLSIGN_KEY_STORE, else .callsign/keys.json (relative
to the working folder). A postgres://host/db URL (optionally ?schema=<name>) names a PostgreSQL store,
created with \`callsign store migrate\`.`,
  subcommands: [createSubcommand, listSubcommand, showSubcommand, rotateSubcommand, revokeSubcommand],
}
