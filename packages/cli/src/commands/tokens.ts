import type { Command } from '../command.js'

// Placeholder until its issue lands; replaced wholesale by the real command.
export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'Mint and inspect short-lived JWTs',
  async run(_argv, io) {
    io.stderr.write('callsign tokens: not available yet\n')
    return 1
  },
}
