import { inspect } from 'node:util'
import { ConfigError } from '@callsign/core'
import type { SecretSource } from './secret-source.js'

let warned = false

/**
 * A secret read once from an environment variable. It works, and it warns once per process:
 * environment variables are inherited by every child process and end up in crash dumps and
 * `/proc/<pid>/environ`. Prefer {@link fileSecret}. A missing or empty variable throws a
 * {@link ConfigError} naming it.
 *
 * @example
 * const key = envSecret('ORDERS_API_KEY')
 * const creds = apiKeyCredentials(key)
 */
export function envSecret(name: string): SecretSource {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError('envSecret: "name" must be an environment variable name')
  }
  const value = process.env[name]
  if (value === undefined || value.length === 0) {
    throw new ConfigError(`envSecret: the environment variable ${name} is not set or empty`)
  }
  if (!warned) {
    warned = true
    process.emitWarning(
      `secret read from the environment variable ${name}: environment variables leak into child processes and crash dumps; prefer fileSecret()`,
      { code: 'CALLSIGN_ENV_SECRET' },
    )
  }
  return Object.freeze({
    description: `env ${name}`,
    value: () => value,
    refresh: () => false,
    close: () => {},
    toJSON: () => ({ env: name }),
    [inspect.custom]: () => `EnvSecret { name: ${inspect(name)} }`,
  })
}
