import { ConfigError } from './auth-error.js'

const SCOPE = /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[A-Za-z0-9][A-Za-z0-9._-]*)+$/

/**
 * True for a well-formed scope: `resource:action` (more `:`-separated parts allowed), each part
 * letters, digits, `. _ -`, at most 128 characters. Scopes are compared as exact strings: there
 * are no wildcards, so `orders:*` is not a scope.
 */
export function isScope(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 128 && SCOPE.test(value)
}

/**
 * The scopes an adapter's `requireScopes(...)` names, checked once at startup: at least one, each a
 * well-formed scope. Returns them frozen, without repeats; throws a {@link ConfigError} otherwise.
 *
 * @example
 * const required = requiredScopes(['orders:admin'])
 */
export function requiredScopes(scopes: readonly unknown[]): readonly string[] {
  if (scopes.length === 0) throw new ConfigError('requireScopes(): name at least one scope')
  for (const scope of scopes) {
    if (!isScope(scope)) {
      throw new ConfigError(`requireScopes(): ${JSON.stringify(scope)} is not a scope ("resource:action")`)
    }
  }
  return Object.freeze([...new Set(scopes as string[])])
}
