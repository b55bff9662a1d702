import type { Policy } from '@callsign/core'
import { pathMatcher } from './path-matcher.js'

/** A policy pattern that names one of a route's paths under some mount prefix. */
interface Candidate {
  readonly pattern: string
  /** True when the mount path Express reports (`req.baseUrl`) is this candidate's prefix. */
  readonly mountedAt: (baseUrl: string) => boolean
  /** True when the path inside the router (`req.path`) is this candidate's own route path. */
  readonly reaches: (path: string) => boolean
}

const PLAIN = /^[^:*?{}()[\]\\+!]*$/

const loose = (pattern: string) => pattern.replace(/\/+$/, '') || '/'

function mountTest(prefix: string): (baseUrl: string) => boolean {
  if (PLAIN.test(prefix)) {
    const lower = prefix.toLowerCase()
    return (baseUrl) => baseUrl.toLowerCase() === lower
  }
  return pathMatcher(prefix)
}

/**
 * Which policy entry names a dispatched route. A route knows only its own path (`route.path`) and
 * Express tells the mount path it was reached under (`req.baseUrl`), so the entry is the policy
 * pattern made of a prefix that matches the mount path and the route's own path. The candidates
 * are worked out once per route and policy; a request only compares its mount path with them.
 */
export class RouteKeys {
  readonly #paths: readonly string[]
  #policy: Policy | undefined
  #byMethod = new Map<string, Candidate[]>()

  constructor(paths: readonly string[]) {
    this.#paths = paths.map(loose)
  }

  /**
   * The policy pattern this route is dispatched as for `method`, mounted at `baseUrl`, reached by
   * `path` inside its router; undefined when the policy names it nowhere.
   */
  resolve(policy: Policy, method: string, baseUrl: string, path: string): string | undefined {
    const mounted = this.#candidates(policy, method).filter((candidate) => candidate.mountedAt(baseUrl))
    if (mounted.length <= 1) return mounted[0]?.pattern
    return (mounted.find((candidate) => candidate.reaches(path)) ?? mounted[0])!.pattern
  }

  /** True when `pattern` names this route for `method` under the mount path `baseUrl`. */
  names(policy: Policy, method: string, pattern: string, baseUrl: string): boolean {
    return this.#candidates(policy, method).some(
      (candidate) => candidate.pattern === pattern && candidate.mountedAt(baseUrl),
    )
  }

  #candidates(policy: Policy, method: string): readonly Candidate[] {
    if (policy !== this.#policy) {
      this.#policy = policy
      this.#byMethod = this.#build(policy)
    }
    return this.#byMethod.get(method) ?? []
  }

  #build(policy: Policy): Map<string, Candidate[]> {
    const byMethod = new Map<string, Candidate[]>()
    for (const { key } of policy.requirements) {
      if (key.startsWith('/')) continue // a gRPC method
      const space = key.indexOf(' ')
      const method = key.slice(0, space)
      const pattern = key.slice(space + 1)
      const whole = loose(pattern)
      for (const own of this.#paths) {
        let prefix: string
        if (own === '/') prefix = whole === '/' ? '' : whole
        else if (whole.endsWith(own)) prefix = whole.slice(0, whole.length - own.length)
        else continue
        const list = byMethod.get(method) ?? []
        list.push({ pattern, mountedAt: mountTest(prefix), reaches: pathMatcher(own) })
        byMethod.set(method, list)
      }
    }
    return byMethod
  }
}
