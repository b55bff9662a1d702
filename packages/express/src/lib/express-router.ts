import { ConfigError } from '@callsign/core'

/*
 * Everything Callsign relies on about Express 5 beyond its documented API, in one file.
 *
 * Express documents `app.router` (the app's router) and `app.use`, and nothing about the router's
 * layers. Callsign needs three things that only the layers give:
 *   1. to put its gate first, in front of middleware registered before `auth()` (the layer stack);
 *   2. to put a gate at the front of every route's own stack, so the route Express actually
 *      dispatches (after any URL rewrite or method override) is decided, before its handlers and
 *      with no per-request work that grows with the number of routes;
 *   3. to list the registered routes for the startup coverage check.
 * It reads `router.stack`, `layer.route`, `layer.handle`, `layer.rawPath` (router 2.3 and later;
 * without it, a mounted router's routes are checked by their own path only), `route.path`,
 * `route.methods` and `route.stack`, and it builds a route layer with the router's own Layer class.
 * Express runs `app.param()` callbacks after it has chosen a route (`req.route`, documented) and
 * before the route's stack: Callsign's callback is put first in `router.params`, so a request moved
 * onto a route after the front gate is decided before any of the application's param callbacks.
 * test/adapters/express-versions.test.ts runs the adapter's suite against the lowest and the
 * highest express and router versions the peer range allows, so a release that changes any of
 * this fails CI instead of opening a hole. Where anything here is not as expected, `auth()` stops
 * with a ConfigError, and a request that reaches a route Callsign cannot place is refused.
 */

interface Layer {
  readonly route?: Route
  readonly handle: unknown
  readonly rawPath?: unknown
  method?: string
}

interface Route {
  readonly path: unknown
  readonly methods: Record<string, boolean | undefined>
  readonly stack: Layer[]
}

interface Router {
  readonly stack: Layer[]
  /** `router.param()` callbacks by parameter name. */
  readonly params?: Record<string, unknown[]>
}

/** A route as registered: its own path(s), the mount prefixes above it where readable, its methods. */
export interface RegisteredRoute {
  /** The route's own path patterns (an array route has several; a RegExp route has none). */
  readonly paths: readonly string[]
  /** The mount prefixes the route is reached under, or undefined when a mount path cannot be read. */
  readonly prefixes: readonly string[] | undefined
  /** Upper-case methods; `'ALL'` for `app.all()`. */
  readonly methods: readonly string[]
}

type Gate = (req: never, res: never, next: () => void) => void
type ParamGate = (req: never, res: never, next: () => void, value: unknown, name: string) => void

function isRouter(value: unknown): value is Router {
  return typeof value === 'function' && Array.isArray((value as Partial<Router>).stack)
}

/** The app's router (`app.router`, documented in Express 5). */
export function routerOf(app: unknown): Router {
  const router = typeof app === 'function' ? (app as { router?: unknown }).router : undefined
  if (!isRouter(router)) {
    throw new ConfigError('@callsign/express: auth(app, options) needs an Express 5 application as "app"')
  }
  return router
}

/** Moves the layer that `app.use(gate)` just added to the front of the app's stack. */
export function moveToFront(router: Router, gate: Gate): void {
  const index = router.stack.findIndex((layer) => layer.handle === gate)
  if (index === -1) throw new ConfigError('@callsign/express: the gate was not added to the app router')
  router.stack.unshift(...router.stack.splice(index, 1))
}

/** Joins a mount prefix and a route path the way Express concatenates URLs. */
export function joinPath(prefix: string, path: string): string {
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  if (base === '') return path
  return path === '/' ? base : `${base}${path}`
}

function strings(path: unknown): string[] {
  const all = Array.isArray(path) ? path.flat(Number.POSITIVE_INFINITY) : [path]
  return all.filter((item): item is string => typeof item === 'string')
}

/**
 * Watches an app's router tree: `changed()` is true when a router's stack has grown or shrunk since
 * the last `guard()`, which then puts `gate(route)` at the front of every route not yet guarded.
 * The check costs one comparison per router, whatever the number of routes.
 */
export class RouteGuard {
  readonly #root: Router
  readonly #gateFor: (route: Route) => Gate
  readonly #paramGate: ParamGate
  readonly #guarded = new WeakSet<Route>()
  #sizes = new Map<Router, number>()

  constructor(root: Router, gateFor: (route: Route) => Gate, paramGate: ParamGate) {
    this.#root = root
    this.#gateFor = gateFor
    this.#paramGate = paramGate
  }

  changed(): boolean {
    for (const [router, size] of this.#sizes) if (sizeOf(router) !== size) return true
    return this.#sizes.size === 0
  }

  /** Guards every route not yet guarded and returns every registered route. */
  guard(): RegisteredRoute[] {
    const found: RegisteredRoute[] = []
    const sizes = new Map<Router, number>()
    const walk = (router: Router, prefixes: string[] | undefined, depth: number) => {
      if (depth > 32 || sizes.has(router)) return
      this.#guardParams(router)
      sizes.set(router, sizeOf(router))
      for (const layer of router.stack) {
        if (layer.route) {
          this.#guardRoute(layer)
          found.push(describe(layer.route, prefixes))
        } else if (isRouter(layer.handle)) {
          const mounts = layer.rawPath === undefined ? undefined : strings(layer.rawPath)
          const next =
            prefixes === undefined || mounts === undefined || mounts.length === 0
              ? undefined
              : prefixes.flatMap((prefix) =>
                  mounts.map((mount) => joinPath(prefix, mount === '/' ? '' : mount)),
                )
          walk(layer.handle, next, depth + 1)
        } else if (typeof layer.handle === 'function' && layer.handle.name === 'mounted_app') {
          const at = strings(layer.rawPath).join(', ') || 'a path'
          throw new ConfigError(
            `@callsign/express: an Express app is mounted at ${at} with app.use(path, subApp); Callsign cannot see its routes. Mount an express.Router() instead`,
          )
        }
      }
    }
    walk(this.#root, [''], 0)
    this.#sizes = sizes
    return found
  }

  #guardParams(router: Router): void {
    for (const callbacks of Object.values(router.params ?? {})) {
      if (!Array.isArray(callbacks) || callbacks[0] === this.#paramGate) continue
      const at = callbacks.indexOf(this.#paramGate)
      if (at !== -1) callbacks.splice(at, 1)
      callbacks.unshift(this.#paramGate)
    }
  }

  #guardRoute(layer: Layer): void {
    const route = layer.route!
    if (this.#guarded.has(route)) return
    const Layer = layer.constructor as new (path: string, options: object, fn: Gate) => Layer
    const gate = new Layer('/', {}, this.#gateFor(route))
    gate.method = undefined // every method the route dispatches
    route.stack.unshift(gate)
    this.#guarded.add(route)
  }
}

/** What changes when a route, a router or a param callback is added: one number per router. */
function sizeOf(router: Router): number {
  let size = router.stack.length
  for (const callbacks of Object.values(router.params ?? {}))
    size += Array.isArray(callbacks) ? callbacks.length : 0
  return size
}

function describe(route: Route, prefixes: readonly string[] | undefined): RegisteredRoute {
  const methods = Object.keys(route.methods)
    .filter((name) => route.methods[name] === true)
    .map((name) => (name === '_all' ? 'ALL' : name.toUpperCase()))
  return { paths: strings(route.path), prefixes, methods }
}

/** The route's own path patterns, as `route.path` gives them (documented as `req.route.path`). */
export function routePaths(route: { readonly path: unknown }): readonly string[] {
  return strings(route.path)
}

export type { Route as ExpressRoute }
