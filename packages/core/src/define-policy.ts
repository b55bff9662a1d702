import { ConfigError } from './auth-error.js'
import type { Transport } from './auth-request.js'
import { isScope } from './scope.js'

/** What a route needs: `'public'`, or every one of a list of scopes. */
export type RouteRule = 'public' | readonly string[]

export interface PolicyInput {
  /** `'METHOD /pattern'` (the framework's own pattern) or `'/pkg.Service/Method'` → rule. */
  readonly routes: Readonly<Record<string, RouteRule>>
  /**
   * Callee-side grants, the one place a service says what its callers may do: caller id (or
   * `'…/*'` pattern) → scopes, or a list of {@link PolicyGrant}s. A caller gets the union of every
   * grant that matches it, added to what its credential carries.
   */
  readonly grants?: Readonly<Record<string, readonly string[]>> | readonly PolicyGrant[]
}

/**
 * A grant to the callers `to` names: an exact caller id; a pattern ending in `/*`, every caller id
 * below that path on whole segments (`'spiffe://mesh.local/ns/prod/*'` matches
 * `spiffe://mesh.local/ns/prod/sa/billing`, not `spiffe://mesh.local/ns/prod-admin/sa/x` nor the
 * prefix itself); or a caller-id predicate, such as `authorizePathPrefix(...)` of `@callsign/mtls`,
 * which grants only when it returns `true` (one that throws refuses the request: 401 `verifier_error`).
 */
export interface PolicyGrant {
  readonly to: string | ((callerId: string) => boolean)
  readonly scopes: readonly string[]
}

export interface Requirement {
  /** The normalized policy key: `'GET /orders/:id'` or `'/shop.v1.Inventory/Reserve'`. */
  readonly key: string
  readonly public: boolean
  readonly scopes: readonly string[]
}

export interface Coverage {
  /** Registered routes with no policy entry: a startup error unless report-only was asked for. */
  readonly missing: readonly string[]
  /** Policy entries that match no registered route. */
  readonly unused: readonly string[]
}

export interface Policy {
  /** The requirement of a matched route, or `undefined` when the policy has no entry (deny). */
  requirement(transport: Transport, method: string, route: string): Requirement | undefined
  /** The scopes this service grants a caller id (empty when none). */
  grantsFor(callerId: string): ReadonlySet<string>
  readonly requirements: readonly Requirement[]
  /** Compares the policy with registered route keys (`'GET /x'`, `'/pkg.Svc/M'`). HEAD counts as GET. */
  coverage(registered: Iterable<string>): Coverage
}

/** Every method Node's HTTP parser accepts, less HEAD (governed by the GET entry). */
const METHODS = new Set(
  'ACL BIND CHECKOUT CONNECT COPY DELETE GET LINK LOCK M-SEARCH MERGE MKACTIVITY MKCALENDAR MKCOL MOVE NOTIFY OPTIONS PATCH POST PROPFIND PROPPATCH PURGE PUT QUERY REBIND REPORT SEARCH SOURCE SUBSCRIBE TRACE UNBIND UNLINK UNLOCK UNSUBSCRIBE'.split(
    ' ',
  ),
)
const HTTP_KEY = /^([A-Za-z-]+) +(\/[^\s?#]*)$/
const GRPC_KEY = /^\/[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\/[A-Za-z_][A-Za-z0-9_]*$/
const EMPTY: ReadonlySet<string> = new Set()

/** A grant to the callers a pattern or predicate matches (exact ids are a map lookup instead). */
interface MatchedGrant {
  readonly matches: (callerId: string) => boolean
  readonly scopes: readonly string[]
}

/**
 * Compiles a per-route scope map. Anything not in it is denied. Throws a {@link ConfigError} naming
 * the offending key for an unknown method, a malformed key or scope, an empty list or a duplicate.
 * Grants are the policy's alone (verifiers authenticate): `grantsFor` is what the pipeline,
 * `callsign policy explain` and `callsign review` ask.
 *
 * @example
 * const policy = definePolicy({
 *   routes: { 'GET /orders/:id': ['orders:read'], 'GET /healthz': 'public' },
 *   grants: {
 *     'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read'],
 *     'spiffe://mesh.local/ns/ops/*': ['orders:read'],
 *   },
 * })
 * // or a list, with predicates: [{ to: authorizeMemberOf('mesh.local'), scopes: ['orders:read'] }]
 */
export function definePolicy(input: PolicyInput): Policy {
  if (!isPlainObject(input)) throw new ConfigError('policy must be an object with "routes"')
  for (const key of Object.keys(input)) {
    if (key !== 'routes' && key !== 'grants') throw new ConfigError(`policy has an unknown field "${key}"`)
  }
  if (!isPlainObject(input.routes)) throw new ConfigError('policy.routes must be an object')

  const byKey = new Map<string, Requirement>()
  for (const [rawKey, rule] of Object.entries(input.routes)) {
    const key = normalizeKey(rawKey)
    if (byKey.has(key)) throw new ConfigError(`policy route "${rawKey}" duplicates "${byKey.get(key)?.key}"`)
    byKey.set(key, compileRule(key, rawKey, rule))
  }

  const { exact, matched } = compileGrants(input.grants)

  const requirements = Object.freeze([...byKey.values()])
  // HTTP entries by method, then route: a lookup per request without building the key string.
  const byMethod = new Map<string, Map<string, Requirement>>()
  for (const [key, requirement] of byKey) {
    if (key.startsWith('/')) continue
    const space = key.indexOf(' ')
    const method = key.slice(0, space)
    const routes = byMethod.get(method) ?? new Map<string, Requirement>()
    routes.set(key.slice(space + 1), requirement)
    byMethod.set(method, routes)
  }
  return Object.freeze({
    requirement(transport: Transport, method: string, route: string) {
      // gRPC keys start with '/', HTTP keys with a method: a gRPC route never reaches an HTTP entry
      if (transport === 'grpc') return route.startsWith('/') ? byKey.get(route) : undefined
      return byMethod.get(method === 'HEAD' ? 'GET' : method)?.get(route)
    },
    grantsFor(callerId: string) {
      const own = exact.get(callerId) ?? EMPTY
      let union: Set<string> | undefined
      for (const grant of matched) {
        if (!grant.matches(callerId)) continue
        union ??= new Set(own)
        for (const scope of grant.scopes) union.add(scope)
      }
      return union ?? own
    },
    requirements,
    coverage(registered: Iterable<string>): Coverage {
      const seen = new Set<string>()
      for (const key of registered) seen.add(key.startsWith('HEAD ') ? `GET ${key.slice(5)}` : key)
      return {
        missing: [...seen].filter((key) => !byKey.has(key)).sort(),
        unused: [...byKey.keys()].filter((key) => !seen.has(key)).sort(),
      }
    },
  })
}

/**
 * Exact caller ids in a map (a lookup per request); `/*` patterns and predicates in a list (a short
 * loop per request). The record form is the list with string `to`s.
 */
function compileGrants(value: PolicyInput['grants']): {
  exact: Map<string, ReadonlySet<string>>
  matched: MatchedGrant[]
} {
  const exact = new Map<string, ReadonlySet<string>>()
  const matched: MatchedGrant[] = []
  if (value === undefined) return { exact, matched }
  let grants: { to: unknown; scopes: unknown; where: string }[]
  if (Array.isArray(value)) {
    grants = value.map((grant: unknown, index) => {
      const where = `policy grant [${index}]`
      if (!isPlainObject(grant)) throw new ConfigError(`${where} must be { to, scopes }`)
      const unknown = Object.keys(grant).find((key) => key !== 'to' && key !== 'scopes')
      if (unknown !== undefined) throw new ConfigError(`${where} has an unknown field "${unknown}"`)
      return { to: grant.to, scopes: grant.scopes, where }
    })
  } else if (isPlainObject(value)) {
    grants = Object.entries(value).map(([to, scopes]) => ({ to, scopes, where: `policy grant "${to}"` }))
  } else {
    throw new ConfigError('policy.grants must be an object (caller id → scopes) or a list of { to, scopes }')
  }
  const named = new Set<string>()
  for (const { to, scopes, where } of grants) {
    if (!Array.isArray(scopes)) throw new ConfigError(`${where}: "scopes" must be a list of scopes`)
    const list = Object.freeze(checkScopes(scopes, where))
    if (typeof to === 'function') {
      matched.push({ matches: (callerId) => to(callerId) === true, scopes: list })
      continue
    }
    if (typeof to !== 'string' || to.length === 0 || /\s/.test(to)) {
      throw new ConfigError(`${where} is not a valid caller id: give an id, a "…/*" pattern or a predicate`)
    }
    if (named.has(to)) throw new ConfigError(`${where}: "${to}" is granted twice`)
    named.add(to)
    const star = to.indexOf('*')
    if (star === -1) {
      exact.set(to, new Set(list))
    } else if (star === to.length - 1 && to.endsWith('/*') && to.length > 2) {
      const prefix = to.slice(0, -1) // keeps the '/': whole segments only
      matched.push({
        matches: (callerId) => callerId.startsWith(prefix) && callerId.length > prefix.length,
        scopes: list,
      })
    } else {
      throw new ConfigError(`${where}: a pattern is a caller id path ending in "/*", with no other "*"`)
    }
  }
  return { exact, matched }
}

function normalizeKey(rawKey: string): string {
  if (rawKey.startsWith('/')) {
    if (!GRPC_KEY.test(rawKey)) {
      throw new ConfigError(
        `policy route "${rawKey}" is malformed: expected "METHOD /path" or "/package.Service/Method"`,
      )
    }
    return rawKey
  }
  const match = HTTP_KEY.exec(rawKey.trim())
  if (!match) throw new ConfigError(`policy route "${rawKey}" is malformed: expected "METHOD /path"`)
  const method = match[1]!.toUpperCase()
  if (method === 'HEAD') {
    throw new ConfigError(`policy route "${rawKey}": HEAD is governed by the GET entry of the same path`)
  }
  if (!METHODS.has(method))
    throw new ConfigError(`policy route "${rawKey}" has an unknown method "${match[1]}"`)
  return `${method} ${match[2]}`
}

function compileRule(key: string, rawKey: string, rule: unknown): Requirement {
  if (rule === 'public') return Object.freeze({ key, public: true, scopes: Object.freeze([]) })
  const scopes = checkScopes(rule, `policy route "${rawKey}"`)
  return Object.freeze({ key, public: false, scopes: Object.freeze(scopes) })
}

function checkScopes(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be 'public' or a list of scopes`)
  if (value.length === 0) {
    throw new ConfigError(`${where} has an empty scope list: write 'public' to open a route on purpose`)
  }
  const seen = new Set<string>()
  for (const scope of value) {
    if (!isScope(scope)) {
      throw new ConfigError(
        `${where} has a malformed scope ${JSON.stringify(scope)}: expected "resource:action"`,
      )
    }
    if (seen.has(scope)) throw new ConfigError(`${where} lists the scope "${scope}" twice`)
    seen.add(scope)
  }
  return [...seen]
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
