import type { Command } from '../command.js'

// Placeholder until its issue lands; replaced wholesale by the real command.
export const keysCommand: Command = {
  name: 'keys',
  summary: 'Create, list, show, rotate and revoke API keys',
  async run(_argv, io) {
    io.stderr.write('callsign keys: not available yet\n')
    return 1
  },
}
