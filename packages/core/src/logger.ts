import { ConfigError } from './auth-error.js'

/** One log method: pino's `(mergingObject, message)` and console's `(message, …)` both fit. */
export type LogFn = (objectOrMessage: unknown, ...rest: unknown[]) => void

/**
 * Where Callsign's one-time warnings go (stale keys, a reload that failed and kept the last good
 * value, dry run, unmapped routes): a pino logger, or anything with the same methods (`console`).
 * Each warning is written as `logger.warn({ code }, message)`: `code` is a stable
 * `CALLSIGN_…` name, the message prose; neither ever holds a secret.
 *
 * @example
 * import pino from 'pino'
 * const logger: Logger = pino()
 */
export interface Logger {
  warn: LogFn
  error?: LogFn
  info?: LogFn
  debug?: LogFn
}

/**
 * Writes a warning to `logger`, or, without one, as a process warning (`process.emitWarning`),
 * the default every factory keeps.
 *
 * @example
 * warn(options.logger, 'CALLSIGN_KEY_STORE_RELOAD', `${error.message}; keeping the last good keys`)
 */
export function warn(logger: Logger | undefined, code: string, message: string): void {
  if (logger === undefined) {
    process.emitWarning(message, { code })
    return
  }
  try {
    logger.warn({ code }, message)
  } catch {
    // a logger must never break what it reports on
  }
}

/** Checks a `logger` option at startup: undefined, or an object with a `warn` method. */
export function checkLogger(logger: unknown, where: string): Logger | undefined {
  if (logger === undefined) return undefined
  if (typeof logger !== 'object' || logger === null || typeof (logger as Logger).warn !== 'function') {
    throw new ConfigError(`${where}: "logger" must be a pino-compatible logger (an object with warn())`)
  }
  return logger as Logger
}
