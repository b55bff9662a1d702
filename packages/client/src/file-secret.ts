import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { ConfigError } from '@callsign/core'
import { type ReloadableFile, reloadableFile } from '@callsign/core/adapter'
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
  let file: ReloadableFile<string>
  try {
    file = reloadableFile({
      paths: [path],
      load: () => read(path),
      watch: options.watch !== false,
      onReload: (value, previous) => {
        if (value !== previous) options.onReload?.()
      },
      onError: options.onError,
      warning: { code: 'CALLSIGN_SECRET_RELOAD', keeping: 'the last good value' },
    })
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(`fileSecret: ${error.message}`, { cause: error.cause })
    throw error
  }
  /** True when the value changed: a reload that read the same value again is no rotation. */
  const refresh = (): boolean => {
    const before = file.current()
    return file.reload() && file.current() !== before
  }

  return Object.freeze({
    description: `file ${path}`,
    value: file.current,
    refresh,
    close: file.close,
    toJSON: () => ({ path }),
    [inspect.custom]: () => `FileSecret { path: ${inspect(path)} }`,
  })
}

function read(path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new ConfigError(`cannot read secret file ${path}`, { cause })
  }
  const value = text.replace(/[\r\n]+$/, '')
  if (value.length === 0) throw new ConfigError(`secret file ${path} is empty`)
  return value
}
