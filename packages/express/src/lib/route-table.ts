import { ConfigError } from '@callsign/core'

/**
 * The slice of express 5 / router 2 internals Callsign reads. Matching always goes through the
 * router's own layers, so Callsign and Express agree on case, trailing slashes and encoding.
 */
export interface RouterLayer {
  readonly route?: RouterRoute
  readonly handle: unknown
  readonly rawPath?: unknown
  method?: string
  match(path: string): { readonly path: string; readonly pattern: unknown } | false
}
export interface RouterRoute {
  readonly path: unknown
  readonly methods: Record<string, boolean | undefined>
  readonly stack: RouterLayer[]
  _handlesMethod(method: string): boolean
}
export interface RouterLike {
  readonly stack: RouterLayer[]
  handle(...args: unknown[]): unknown
}

/** One place a route can be reached from: the mount layers above it, then its own layer. */
export interface RouteSite {
  readonly mounts: readonly RouterLayer[]
  readonly layer: RouterLayer
}

export interface RouteTable {
  /** Every route, with every place it is mounted. */
  readonly sites: Map<RouterRoute, RouteSite[]>
  /** `'METHOD /pattern'` keys of every registered route (`'ALL /x'` for app.all without entries). */
  readonly keys: string[]
}

export function isRouter(value: unknown): value is RouterLike {
  return (
    typeof value === 'function' &&
    Array.isArray((value as Partial<RouterLike>).stack) &&
    typeof (value as Partial<RouterLike>).handle === 'function'
  )
}

/** Joins a mount pattern and a route pattern the way Express concatenates the URLs. */
export function joinPattern(prefix: string, pattern: unknown): string {
  const path = typeof pattern === 'string' ? pattern : String(pattern)
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  if (base === '') return path
  return path === '/' ? base : `${base}${path}`
}

function variants(rawPath: unknown): unknown[] {
  return Array.isArray(rawPath) ? rawPath.flat(Number.POSITIVE_INFINITY) : [rawPath]
}

/** Walks the router tree once: every route, where it is mounted, and its policy keys. */
export function buildRouteTable(root: RouterLike, policyKeys: readonly string[]): RouteTable {
  const sites = new Map<RouterRoute, RouteSite[]>()
  const keys: string[] = []
  const walk = (router: RouterLike, mounts: RouterLayer[], prefixes: string[], seen: Set<RouterLike>) => {
    if (seen.has(router)) return
    const inner = new Set(seen).add(router)
    for (const layer of router.stack) {
      if (layer.route) {
        const route = layer.route
        const list = sites.get(route) ?? []
        list.push({ mounts, layer })
        sites.set(route, list)
        const methods = Object.keys(route.methods)
          .filter((name) => name !== '_all' && route.methods[name])
          .map((name) => name.toUpperCase())
        for (const prefix of prefixes) {
          for (const variant of variants(layer.rawPath ?? route.path)) {
            const pattern = joinPattern(prefix, variant)
            for (const method of methods) keys.push(`${method} ${pattern}`)
            if (route.methods._all) {
              const entries = policyKeys.filter((key) => key.slice(key.indexOf(' ') + 1) === pattern)
              keys.push(...(entries.length > 0 ? entries : [`ALL ${pattern}`]))
            }
          }
        }
      } else if (isRouter(layer.handle)) {
        const next = prefixes.flatMap((prefix) =>
          variants(layer.rawPath ?? '/').map((variant) =>
            joinPattern(prefix, variant === '/' ? '' : variant),
          ),
        )
        walk(layer.handle, [...mounts, layer], next, inner)
      } else if (typeof layer.handle === 'function' && layer.handle.name === 'mounted_app') {
        throw new ConfigError(
          `@callsign/express: an Express app is mounted at ${String(layer.rawPath)}; Callsign cannot see its routes. Mount an express.Router() instead`,
        )
      }
    }
  }
  walk(root, [], [''], new Set())
  return { sites, keys }
}

/** The pathname the router matches: the raw URL up to `?`, or undefined for anything unusual. */
export function pathnameOf(url: string | undefined): string | undefined {
  if (url === undefined || url[0] !== '/') return undefined
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

export interface Resolved {
  readonly route: RouterRoute
  readonly pattern: string
}

/**
 * The route Express will dispatch `method path` to, asked of the router's own layers in the
 * router's order. Undefined when nothing matches (the framework's 404) or matching fails.
 */
export function resolveRoute(
  router: RouterLike,
  method: string,
  path: string,
  prefix = '',
  depth = 0,
): Resolved | undefined {
  if (depth > 32) return undefined
  for (const layer of router.stack) {
    let match: ReturnType<RouterLayer['match']>
    try {
      match = layer.match(path)
    } catch {
      return undefined // the router refuses the URL itself (400)
    }
    if (!match) continue
    if (layer.route) {
      if (layer.route._handlesMethod(method))
        return { route: layer.route, pattern: joinPattern(prefix, match.pattern) }
      continue
    }
    if (!isRouter(layer.handle)) continue
    const consumed = match.path
    if (consumed.length > 0) {
      if (path.slice(0, consumed.length) !== consumed) continue
      const next = path[consumed.length]
      if (next && next !== '/') continue
    }
    let rest = path.slice(consumed.length)
    if (rest[0] !== '/') rest = `/${rest}`
    const mount = match.pattern === '/' || consumed.length === 0 ? '' : match.pattern
    const found = resolveRoute(layer.handle, method, rest, joinPattern(prefix, mount), depth + 1)
    if (found) return found
  }
  return undefined
}

/**
 * The pattern of `site` that dispatched this request, from the mount path Express recorded
 * (`req.baseUrl`) and the path inside the router. Undefined when the site did not dispatch it.
 */
export function patternAt(site: RouteSite, baseUrl: string, path: string): string | undefined {
  let prefix = ''
  let rest = baseUrl
  for (const mount of site.mounts) {
    let match: ReturnType<RouterLayer['match']>
    try {
      match = mount.match(rest === '' ? '/' : rest)
    } catch {
      return undefined
    }
    if (!match) return undefined
    const consumed = match.path.endsWith('/') ? match.path.slice(0, -1) : match.path
    if (rest.slice(0, consumed.length) !== consumed) return undefined
    rest = rest.slice(consumed.length)
    prefix = joinPattern(prefix, match.pattern === '/' || consumed.length === 0 ? '' : match.pattern)
  }
  if (rest !== '') return undefined
  let match: ReturnType<RouterLayer['match']>
  try {
    match = site.layer.match(path)
  } catch {
    return undefined
  }
  return match ? joinPattern(prefix, match.pattern) : undefined
}
