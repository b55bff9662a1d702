import { inspect } from 'node:util'
import { ConfigError } from '@callsign/core'
import type { Credentials } from './credentials.js'
import { isHeaderSafe } from './lib/header-safe.js'
import type { SecretSource } from './secret-source.js'

/**
 * Presents an API key as `Authorization: Bearer <key>`. The key is read from its source on every
 * call, so a rotated key file is used as soon as it is reloaded; `invalidate()` (a 401 from the
 * server) re-reads the source at once. The key is checked at startup: a value that cannot travel
 * in a header throws a {@link ConfigError} (which names the source, never the value). A later bad
 * value keeps the last good key in use, with a warning.
 *
 * @example
 * const creds = apiKeyCredentials(fileSecret('/run/secrets/orders-key'))
 * const ordersFetch = withCredentials(fetch, creds)
 */
export function apiKeyCredentials(key: SecretSource): Credentials {
  if (typeof key?.value !== 'function' || typeof key.refresh !== 'function') {
    throw new ConfigError('apiKeyCredentials: "key" must be a secret source such as fileSecret(path)')
  }
  let good = key.value()
  if (!isHeaderSafe(good)) {
    throw new ConfigError(
      `apiKeyCredentials: the key from ${key.description} is not a valid API key (visible ASCII, no spaces)`,
    )
  }
  let warnedFor: string | undefined

  const current = (): string => {
    const value = key.value()
    if (value === good) return good
    if (isHeaderSafe(value)) {
      good = value
      return good
    }
    if (warnedFor !== value) {
      warnedFor = value
      process.emitWarning(
        `the key from ${key.description} is not a valid API key; keeping the last good key`,
        { code: 'CALLSIGN_SECRET_RELOAD' },
      )
    }
    return good
  }

  return Object.freeze({
    kind: 'api-key' as const,
    authorization: async () => `Bearer ${current()}`,
    invalidate: () => {
      key.refresh()
    },
    toJSON: () => ({ kind: 'api-key', key: key.description }),
    [inspect.custom]: () => `ApiKeyCredentials { key: ${inspect(key.description)} }`,
  })
}
