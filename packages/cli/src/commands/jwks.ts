import type { Command } from '../command.js'

// Placeholder until its issue lands; replaced wholesale by the real command.
export const jwksCommand: Command = {
  name: 'jwks',
  summary: 'Generate, rotate and show JWT signing keys',
  async run(_argv, io) {
    io.stderr.write('callsign jwks: not available yet\n')
    return 1
  },
}
