/** What a command may touch: its streams and environment, so tests can run it in-process too. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly env: NodeJS.ProcessEnv
}

/** One top-level command of `callsign`. `run` resolves to the exit code. */
export interface Command {
  readonly name: string
  readonly summary: string
  run(argv: readonly string[], io: CommandIo): Promise<number>
}

/** A usage mistake: exit code 2, with the command's help pointer. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Exit codes: 0 ok, 1 failure (or findings), 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const
