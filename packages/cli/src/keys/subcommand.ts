import type { CommandIo } from '../command.js'

/** One `callsign keys <name>` subcommand. */
export interface Subcommand {
  readonly name: string
  readonly summary: string
  readonly help: string
  run(argv: readonly string[], io: CommandIo): Promise<number>
}
