import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ConfigError } from './auth-error.js'
import { definePolicy, type Policy } from './define-policy.js'
import type { Logger } from './logger.js'
import { reloadableFile } from './reloadable-file.js'

/**
 * Reads and compiles a policy file, JSON or YAML (YAML 1.2 reads both). Duplicate keys are an
 * error, not a silent overwrite. Throws a {@link ConfigError} naming the file and what is wrong.
 */
export function loadPolicyFile(path: string): Policy {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new ConfigError(`cannot read policy file ${path}`, { cause })
  }
  let input: unknown
  try {
    input = parse(text, { uniqueKeys: true, prettyErrors: false })
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message.split('\n')[0] : 'unreadable'
    throw new ConfigError(`policy file ${path} is not valid JSON or YAML: ${detail}`, { cause })
  }
  try {
    return definePolicy(input as never)
  } catch (cause) {
    if (cause instanceof ConfigError) throw new ConfigError(`${path}: ${cause.message}`, { cause })
    throw cause
  }
}

export interface PolicyWatcher {
  /** The last good policy. */
  readonly current: Policy
  /** Re-reads the file now; returns false (and keeps the last good policy) when it is invalid. */
  reload(): boolean
  close(): void
}

export interface WatchPolicyOptions {
  /** Called after a good reload. */
  readonly onReload?: (policy: Policy) => void
  /** Called when a changed file is invalid; the last good policy stays in force. Default: a warning. */
  readonly onError?: (error: ConfigError) => void
  /** Where the default `onError` writes: a pino-compatible logger. Default: a process warning. */
  readonly logger?: Logger
}

/**
 * Loads a policy file and reloads it when it changes. A bad reload keeps the last good policy and
 * says so. The first load throws, so a bad file stops the service at startup.
 *
 * @example
 * const policy = watchPolicyFile('policy.yaml')
 * const pipeline = createPipeline({ policy, verifiers })
 */
export function watchPolicyFile(path: string, options: WatchPolicyOptions = {}): PolicyWatcher {
  const file = reloadableFile({
    paths: [path],
    load: () => loadPolicyFile(path),
    onReload: (policy) => options.onReload?.(policy),
    onError: options.onError,
    warning: { code: 'CALLSIGN_POLICY_RELOAD', keeping: 'the last good policy' },
    logger: options.logger,
  })
  return {
    get current() {
      return file.current()
    },
    reload: file.reload,
    close: file.close,
  }
}
