import { match } from 'path-to-regexp'

/**
 * Express's own route matching for one pattern, with Express's defaults: case-insensitive, an
 * optional trailing slash, parameters decoded (a malformed escape is no match, as Express answers
 * it with 400 and never reaches a route). The same library and options as Express's router.
 */
export function pathMatcher(pattern: string, end = true): (path: string) => boolean {
  const loose = pattern === '/' ? pattern : pattern.replace(/\/+$/, '')
  const test = match(loose, { sensitive: false, end, trailing: true, decode: decodeURIComponent })
  return (path) => {
    try {
      return test(path) !== false
    } catch {
      return false
    }
  }
}
