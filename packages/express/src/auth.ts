import { AuthError, ConfigError, type Decision, type Pipeline, type Policy } from '@callsign/core'
import {
  type AdapterOptions,
  checkCoverage,
  decideOrRefuse,
  resolveAdapterOptions,
} from '@callsign/core/adapter'
import type { Application, NextFunction, Request, Response } from 'express'
import parseUrl from 'parseurl'
import { fromExpress } from './from-express.js'
import {
  type ExpressRoute,
  joinPath,
  moveToFront,
  type RegisteredRoute,
  RouteGuard,
  routePaths,
  routerOf,
} from './lib/express-router.js'
import { PolicyPaths } from './lib/policy-paths.js'
import { decisionMethod, setState, stateOf } from './lib/request-state.js'
import { RouteKeys } from './lib/route-keys.js'
import { sendRefusal } from './lib/send-refusal.js'

const WHERE = '@callsign/express'
const attached = new WeakSet<object>()

/** What the audit event names when a request reaches something Callsign cannot place. */
const UNPLACED = '(unguarded mount)'

/**
 * Protects an Express 5 app. Call it once, after registering your routes (the startup check sees
 * the routes registered by then; routes added later are guarded all the same). Every request is
 * decided twice over with one decision:
 *
 * - a gate in front of everything else in the app finds the policy entry for the request's path,
 *   whatever form the request-target takes, and refuses there, before any body parser or
 *   `app.param` callback runs;
 * - a gate at the front of every route's own stack confirms that the route Express dispatched is
 *   the one decided, and decides again when a URL rewrite or a method override moved the request.
 *
 * Neither gate does work that grows with the number of routes.
 *
 * @example
 * const app = express()
 * app.get('/orders/:id', (req, res) => res.json({ by: getCaller(req).id }))
 * auth(app, { policy, verifiers: [apiKeyVerifier({ store })] })
 * app.listen(8080)
 */
export function auth(app: Application, options: AdapterOptions): void {
  const root = routerOf(app)
  if (attached.has(app)) throw new ConfigError(`${WHERE}: auth() is already attached to this app`)
  const resolved = resolveAdapterOptions(options, WHERE)
  const { pipeline } = resolved
  const indexes = new WeakMap<Policy, PolicyPaths>()
  const pathsOf = (policy: Policy) => {
    let index = indexes.get(policy)
    if (index === undefined) {
      index = new PolicyPaths(policy)
      indexes.set(policy, index)
    }
    return index
  }

  const gates = new WeakMap<object, ReturnType<typeof routeGate>>()
  const gateFor = (route: ExpressRoute) => {
    const gate = routeGate(pipeline, route)
    gates.set(route, gate)
    return gate
  }
  /** First among `app.param()` callbacks: the route Express chose (`req.route`) is decided before them. */
  const paramGate = (req: Request, res: Response, next: NextFunction) => {
    const gate = req.route ? gates.get(req.route) : undefined
    if (gate) gate(req, res, next)
    else next()
  }
  const routes = new RouteGuard(root, gateFor, paramGate)
  checkCoverage(resolved, coverageKeys(routes.guard(), pipeline.policy()), WHERE)

  function callsignGate(req: Request, res: Response, next: NextFunction): void {
    if (routes.changed()) {
      try {
        routes.guard() // routes registered since the last request get their gate now
      } catch (cause) {
        // Something mounted that Callsign cannot see into (an Express sub-app): refuse, never guess.
        const error = new AuthError('ERR_ROUTE_NOT_IN_POLICY', { reason: 'route_unknown', cause })
        apply(
          pipeline,
          req,
          res,
          next,
          UNPLACED,
          pipeline.refuse(fromExpress(req, req.method, UNPLACED), error),
        )
        return
      }
    }
    const path = parseUrl(req)?.pathname
    const pattern = path == null ? undefined : pathsOf(pipeline.policy()).find(req.method, path)
    // No entry matches: a 404, or a route the policy does not name, which its own gate refuses.
    if (pattern === undefined) next()
    else enforce(pipeline, req, res, next, pattern)
  }

  app.use(callsignGate)
  moveToFront(root, callsignGate)
  attached.add(app)
}

/** The gate at the front of one route's stack: the decision must be for this route and method. */
function routeGate(pipeline: Pipeline, route: ExpressRoute) {
  const keys = new RouteKeys(routePaths(route))
  return function callsignRouteGate(req: Request, res: Response, next: NextFunction): void {
    const method = decisionMethod(req.method)
    const policy = pipeline.policy()
    const baseUrl = req.baseUrl ?? ''
    const state = stateOf(req)
    if (
      state?.pipeline === pipeline &&
      state.method === method &&
      keys.names(policy, method, state.pattern, baseUrl)
    ) {
      next()
      return
    }
    const pattern =
      keys.resolve(policy, method, baseUrl, req.path) ?? joinPath(baseUrl, routePaths(route)[0] ?? UNPLACED)
    enforce(pipeline, req, res, next, pattern)
  }
}

function enforce(pipeline: Pipeline, req: Request, res: Response, next: NextFunction, pattern: string): void {
  const decision = decideOrRefuse(pipeline, fromExpress(req, req.method, pattern))
  if (decision instanceof Promise)
    decision.then((settled) => apply(pipeline, req, res, next, pattern, settled))
  else apply(pipeline, req, res, next, pattern, decision)
}

function apply(
  pipeline: Pipeline,
  req: Request,
  res: Response,
  next: NextFunction,
  pattern: string,
  decision: Decision,
): void {
  if (!decision.allowed) {
    sendRefusal(res, decision.error, pipeline.realm)
    return
  }
  req.caller = decision.caller
  setState(req, { method: decisionMethod(req.method), pattern, caller: decision.caller, pipeline })
  next()
}

/**
 * The `'METHOD /pattern'` keys of the registered routes, for the startup check. A route under a
 * mount whose path cannot be read is named by the policy entries for its method that end with its
 * own path. `app.all()` routes are named by every entry for their pattern.
 */
function coverageKeys(routes: readonly RegisteredRoute[], policy: Policy): string[] {
  const entries = policy.requirements
    .map((requirement) => requirement.key)
    .filter((key) => !key.startsWith('/')) // gRPC methods
    .map((key) => ({ key, method: key.slice(0, key.indexOf(' ')), pattern: key.slice(key.indexOf(' ') + 1) }))
  const keys: string[] = []
  for (const route of routes) {
    for (const path of route.paths) {
      for (const method of route.methods) {
        const named = (test: (pattern: string) => boolean) =>
          entries.filter((entry) => (method === 'ALL' || entry.method === method) && test(entry.pattern))
        const found =
          route.prefixes === undefined
            ? named((pattern) => pattern.endsWith(path))
            : route.prefixes.flatMap((prefix) => {
                const pattern = joinPath(prefix, path)
                const all = method === 'ALL' ? named((entry) => entry === pattern) : []
                return all.length > 0 ? all : [{ key: `${method} ${pattern}` }]
              })
        keys.push(...(found.length > 0 ? found.map((entry) => entry.key) : [`${method} (mounted)${path}`]))
      }
    }
  }
  return keys
}
