import type { Command } from '../command.js'

// Placeholder until its issue lands; replaced wholesale by the real command.
export const certsCommand: Command = {
  name: 'certs',
  summary: 'Development CA and service certificates',
  async run(_argv, io) {
    io.stderr.write('callsign certs: not available yet\n')
    return 1
  },
}
