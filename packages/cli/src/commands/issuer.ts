import type { Command } from '../command.js'

// Placeholder until its issue lands; replaced wholesale by the real command.
export const issuerCommand: Command = {
  name: 'issuer',
  summary: 'Run the token issuer (OAuth 2.0 client credentials)',
  async run(_argv, io) {
    io.stderr.write('callsign issuer: not available yet\n')
    return 1
  },
}
