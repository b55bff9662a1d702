/** What a command may touch: its streams and environment, so tests can run it in-process too. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly env: NodeJS.ProcessEnv
}

/** One option of a command, as `node:util` parseArgs takes it plus what `--help` says of it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
  /** The value's placeholder in help, such as `<file>`; string options only. */
  readonly value?: string
  /** One line (or a few) for `--help`. */
  readonly help: string
}

/** The options and positionals a command was given, already checked against its spec. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>
  readonly positionals: readonly string[]
  /** True when `--json` was given (errors are then JSON too). */
  readonly json: boolean
}

/**
 * One command or subcommand of `callsign`. A command with `subcommands` is a group: it only
 * dispatches. Every other command has `run`; the registry parses its arguments (one parser for
 * the whole CLI), answers `--help` from this spec, and turns errors into exit codes.
 */
export interface Command {
  readonly name: string
  readonly summary: string
  /** What follows the command's name on the usage line, such as `<id> [--json]`. */
  readonly usage?: string
  /** Prose for `--help`, after the usage line. */
  readonly description?: string
  readonly options?: Readonly<Record<string, OptionSpec>>
  /** The positionals' names in help (`<id>`); their count is checked: `optional` ones may be left out. */
  readonly positionals?: readonly string[]
  readonly optionalPositionals?: number
  /** The shape of `--json` output, for help and the README; the `--json` option exists only with it. */
  readonly json?: string
  /** The exit codes, for help; default "0 ok, 1 failure, 2 usage error". */
  readonly exitCodes?: string
  /** The exit code of a failure other than a usage error (review: 2, so 1 means findings only). */
  readonly failureExit?: number
  readonly subcommands?: readonly Command[]
  run?(args: ParsedArgs, io: CommandIo): Promise<number> | number
}

/** A usage mistake: exit code 2, with the command's help pointer. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Exit codes: 0 ok, 1 failure (or findings), 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

/** The version of every JSON shape `callsign` prints; each object carries it as `"schema"`. */
export const JSON_SCHEMA_VERSION = 1

/** A JSON line of a command's output, carrying its shape's name and version. */
export function jsonOutput(shape: string, body: object): string {
  return `${JSON.stringify({ schema: `callsign.${shape}/v${JSON_SCHEMA_VERSION}`, ...body }, null, 2)}\n`
}
