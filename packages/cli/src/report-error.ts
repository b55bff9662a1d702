import { type Command, type CommandIo, EXIT, jsonOutput, UsageError } from './command.js'

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EEXIST: 'already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ECONNREFUSED: 'connection refused',
}

interface ErrnoLike {
  readonly code?: unknown
  readonly path?: unknown
  readonly syscall?: unknown
  readonly message?: unknown
  readonly cause?: unknown
}

/** A system error in words: `billing.key already exists`, never `EEXIST: file already exists, open …`. */
export function describeErrno(error: ErrnoLike): string | undefined {
  if (typeof error.code !== 'string' || typeof error.syscall !== 'string') return undefined
  const text = errnoText(error.code)
  return typeof error.path === 'string' ? `${error.path}: ${text}` : `${text} (${error.syscall})`
}

function errnoText(code: string): string {
  return ERRNO_TEXT[code] ?? code
}

/**
 * What to run, for a library's refusal that a command can fix: the libraries' messages name no
 * command (they are read by programs that do not ship this CLI), so the CLI adds its own.
 */
const HINTS: readonly (readonly [RegExp, string])[] = [
  [/ is not a key directory \(no \w+\.json\)/, 'create one with `callsign jwks generate --dir <dir>`'],
  [/^the PostgreSQL [a-z ]+ has no tables: /, 'run `callsign store migrate --store <url>`'],
]

/**
 * The message of an error as the user should read it: a system error in words; a library's
 * configuration error without the internal function name it starts with (`mintToken: `); the
 * cause (in words) appended when the message alone does not say why; a hint of what to run.
 */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const errno = describeErrno(error as ErrnoLike)
  if (errno) return errno
  let message = error.message.replace(/^[a-z][A-Za-z]+: (?=\S)/, '')
  const cause = (error as ErrnoLike).cause
  if (cause && typeof cause === 'object') {
    const why = describeErrno(cause as ErrnoLike)
    if (why && !message.includes(why)) {
      // the cause in words replaces a bare errno code in the message: "(ENOTDIR)"; without a path,
      // the words alone: "did not answer (connection refused)", not "(connection refused (connect))"
      const { code, path } = cause as ErrnoLike
      const words = typeof path === 'string' ? why : errnoText(code as string)
      message = `${message.replace(/ \(E[A-Z]+\)$/, '')} (${words})`
    }
  }
  const hint = HINTS.find(([pattern]) => pattern.test(message))?.[1]
  return hint === undefined ? message : `${message}; ${hint}`
}

/**
 * Writes an error the one way every command does: `callsign <path>: <message>` on stderr (plus
 * the help pointer for a usage error) and, with `--json`, one JSON object on stdout. Resolves to
 * the exit code: 2 for a usage error, else the command's failure code (1, or 2 for `review`).
 */
export function reportError(
  error: unknown,
  command: Command,
  path: readonly string[],
  json: boolean,
  io: CommandIo,
): number {
  const usage = error instanceof UsageError
  const code = usage ? EXIT.usage : (command.failureExit ?? EXIT.failure)
  const message = errorMessage(error)
  const name = `callsign ${path.join(' ')}`
  io.stderr.write(`${name}: ${message}\n${usage ? `Run \`${name} --help\` for usage.\n` : ''}`)
  if (json) {
    const errorCode = usage ? 'ERR_USAGE' : ((error as { code?: unknown }).code ?? 'ERR_FAILED')
    io.stdout.write(jsonOutput('error', { error: { code: String(errorCode), message, exitCode: code } }))
  }
  return code
}
