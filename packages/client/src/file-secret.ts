import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { ConfigError } from '@callsign/core'
import { watchFiles } from '@callsign/core/adapter'
import type { SecretSource } from './secret-source.js'

/**
 * Options of {@link fileSecret}.
 *
 * @example
 * fileSecret('/run/secrets/key', { onReload: () => log.info('key rotated') })
 */
export interface FileSecretOptions {
  /** Reload the file when it changes (rename, in-place write, Kubernetes symlink swap). Default true. */
  readonly watch?: boolean
  /** Called after the value changed. */
  readonly onReload?: () => void
  /**
   * Called when a changed file is empty or unreadable; the last good value stays in use.
   * Default: a process warning (code `CALLSIGN_SECRET_RELOAD`) naming the file, never its content.
   */
  readonly onError?: (error: Error) => void
}

/**
 * A secret read from a file, as Docker and Kubernetes secrets and Vault Agent deliver them, and
 * reloaded when the file changes. Trailing line breaks are trimmed. An empty or unreadable file at
 * startup throws a {@link ConfigError}; at a reload it keeps the last good value and warns.
 *
 * @example
 * const key = fileSecret('/run/secrets/orders-key')
 * const creds = apiKeyCredentials(key)
 */
export function fileSecret(path: string, options: FileSecretOptions = {}): SecretSource {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ConfigError('fileSecret: "path" must be a file path')
  }
  const first = read(path)
  if (first instanceof Error) throw new ConfigError(`fileSecret: ${first.message}`, { cause: first.cause })
  let current = first
  const onError =
    options.onError ??
    ((error: Error) =>
      process.emitWarning(`${error.message}; keeping the last good value`, {
        code: 'CALLSIGN_SECRET_RELOAD',
      }))

  const refresh = (): boolean => {
    const next = read(path)
    if (next instanceof Error) {
      onError(next)
      return false
    }
    if (next === current) return false
    current = next
    options.onReload?.()
    return true
  }
  const watcher = options.watch === false ? undefined : watchFiles([path], refresh)

  return Object.freeze({
    description: `file ${path}`,
    value: () => current,
    refresh,
    close: () => watcher?.close(),
    toJSON: () => ({ path }),
    [inspect.custom]: () => `FileSecret { path: ${inspect(path)} }`,
  })
}

function read(path: string): string | Error {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    return new Error(`cannot read secret file ${path}`, { cause })
  }
  const value = text.replace(/[\r\n]+$/, '')
  if (value.length === 0) return new Error(`secret file ${path} is empty`)
  return value
}
