const SCOPE = /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[A-Za-z0-9][A-Za-z0-9._-]*)+$/

/**
 * True for a well-formed scope: `resource:action` (more `:`-separated parts allowed), each part
 * letters, digits, `. _ -`, at most 128 characters. Scopes are compared as exact strings: there
 * are no wildcards, so `orders:*` is not a scope.
 */
export function isScope(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 128 && SCOPE.test(value)
}
