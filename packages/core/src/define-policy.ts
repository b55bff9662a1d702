import { ConfigError } from './auth-error.js'
import type { Transport } from './auth-request.js'
import { isScope } from './scope.js'

/** What a route needs: `'public'`, or every one of a list of scopes. */
export type RouteRule = 'public' | readonly string[]

export interface PolicyInput {
  /** `'METHOD /pattern'` (the framework's own pattern) or `'/pkg.Service/Method'` → rule. */
  readonly routes: Readonly<Record<string, RouteRule>>
  /** Callee-side grants: caller id → scopes this service grants that caller. */
  readonly grants?: Readonly<Record<string, readonly string[]>>
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

/**
 * Compiles a per-route scope map. Anything not in it is denied. Throws a {@link ConfigError} naming
 * the offending key for an unknown method, a malformed key or scope, an empty list or a duplicate.
 *
 * @example
 * const policy = definePolicy({
 *   routes: { 'GET /orders/:id': ['orders:read'], 'GET /healthz': 'public' },
 *   grants: { 'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read'] },
 * })
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

  const grants = new Map<string, ReadonlySet<string>>()
  if (input.grants !== undefined) {
    if (!isPlainObject(input.grants)) throw new ConfigError('policy.grants must be an object')
    for (const [callerId, scopes] of Object.entries(input.grants)) {
      if (callerId.length === 0 || /\s/.test(callerId)) {
        throw new ConfigError(`policy grant "${callerId}" is not a valid caller id`)
      }
      grants.set(callerId, new Set(checkScopes(scopes, `policy grant "${callerId}"`)))
    }
  }

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
    grantsFor: (callerId: string) => grants.get(callerId) ?? EMPTY,
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
