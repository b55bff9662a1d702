import {
  type AdapterOptions,
  AuthError,
  ConfigError,
  checkCoverage,
  type Decision,
  decideOrRefuse,
  type Pipeline,
  resolveAdapterOptions,
} from '@callsign/core'
import type { Application, NextFunction, Request, Response } from 'express'
import { fromExpress } from './from-express.js'
import { decidedFor, decisionMethod, setState } from './lib/request-state.js'
import {
  buildRouteTable,
  isRouter,
  joinPattern,
  pathnameOf,
  patternAt,
  type RouterLayer,
  type RouterLike,
  type RouterRoute,
  type RouteSite,
  resolveRoute,
} from './lib/route-table.js'
import { sendRefusal } from './lib/send-refusal.js'

const WHERE = '@callsign/express'
const attached = new WeakSet<object>()

/**
 * Protects a finished Express 5 app: call it after every route is registered. It checks that
 * every route has a policy entry (a startup error names those that do not), then guards each
 * request twice with the same decision: a gate in front of the whole app refuses before any body
 * parser runs, using the route the router's own layers match, and a gate at the front of every
 * route confirms the route actually dispatched (after any URL or method rewrite).
 *
 * @example
 * const app = express()
 * app.get('/orders/:id', (req, res) => res.json({ by: getCaller(req).id }))
 * auth(app, { policy, verifiers: [apiKeyVerifier({ store })] })
 * app.listen(8080)
 */
export function auth(app: Application, options: AdapterOptions): void {
  const root = (app as { router?: unknown } | undefined)?.router
  if (typeof app !== 'function' || !isRouter(root)) {
    throw new ConfigError(`${WHERE}: auth(app, options) needs an Express 5 application as "app"`)
  }
  if (attached.has(app)) throw new ConfigError(`${WHERE}: auth() is already attached to this app`)
  const resolved = resolveAdapterOptions(options, WHERE)
  const { pipeline } = resolved
  const sitesOf = new Map<RouterRoute, RouteSite[]>()
  /**
   * Routes reachable from one place by one plain pattern: when Express reports exactly that mount
   * path (`req.baseUrl`), the pattern needs no matching. Anything else is matched in full.
   */
  const staticPatterns = new Map<RouterRoute, { readonly base: string; readonly pattern: string }>()

  const instrument = () => {
    const table = buildRouteTable(
      root,
      pipeline.policy().requirements.map((requirement) => requirement.key),
    )
    for (const [route, sites] of table.sites) {
      if (!sitesOf.has(route)) route.stack.unshift(gateLayer(sites[0]!.layer, routeGate(route)))
      sitesOf.set(route, sites)
      const only = sites.length === 1 ? staticPattern(sites[0]!) : undefined
      if (only === undefined) staticPatterns.delete(route)
      else staticPatterns.set(route, only)
    }
    return table
  }
  checkCoverage(resolved, instrument().keys, WHERE)

  function appGate(req: Request, res: Response, next: NextFunction): void {
    const path = pathnameOf(req.url)
    const found = path === undefined ? undefined : resolveRoute(root as RouterLike, req.method, path)
    if (!found) {
      next()
      return
    }
    if (!sitesOf.has(found.route)) {
      // A route added after auth(): guard it too (it is still denied unless the policy names it).
      try {
        instrument()
      } catch (cause) {
        const error = new AuthError('ERR_ROUTE_NOT_IN_POLICY', { reason: 'route_unknown', cause })
        sendRefusal(res, error, pipeline.realm)
        return
      }
    }
    enforce(pipeline, req, res, next, found.pattern)
  }

  function routeGate(route: RouterRoute) {
    return function callsignRouteGate(req: Request, res: Response, next: NextFunction): void {
      if (!route._handlesMethod(req.method)) {
        next()
        return
      }
      const path = pathnameOf(req.url) ?? '/'
      const fixed = staticPatterns.get(route)
      let pattern = fixed !== undefined && (req.baseUrl ?? '') === fixed.base ? fixed.pattern : undefined
      for (const site of pattern === undefined ? (sitesOf.get(route) ?? []) : []) {
        pattern = patternAt(site, req.baseUrl ?? '', path)
        if (pattern !== undefined) break
      }
      if (pattern === undefined) {
        // Dispatched from a place Callsign did not see when it walked the app: refuse, never guess.
        sendRefusal(
          res,
          new AuthError('ERR_ROUTE_NOT_IN_POLICY', { reason: 'route_unknown' }),
          pipeline.realm,
        )
        return
      }
      if (decidedFor(req, req.method, pattern)) next()
      else enforce(pipeline, req, res, next, pattern)
    }
  }

  app.use(appGate)
  const stack = root.stack
  const layer = stack.pop()!
  stack.unshift(layer)
  attached.add(app)
}

function enforce(pipeline: Pipeline, req: Request, res: Response, next: NextFunction, pattern: string): void {
  const method = req.method
  const decision = decideOrRefuse(pipeline, fromExpress(req, method, pattern))
  if (decision instanceof Promise) {
    decision.then((settled) => apply(pipeline, req, res, next, method, pattern, settled))
  } else apply(pipeline, req, res, next, method, pattern, decision)
}

function apply(
  pipeline: Pipeline,
  req: Request,
  res: Response,
  next: NextFunction,
  method: string,
  pattern: string,
  decision: Decision,
): void {
  if (!decision.allowed) {
    sendRefusal(res, decision.error, pipeline.realm)
    return
  }
  ;(req as { caller?: unknown }).caller = decision.caller
  setState(req, {
    method: decisionMethod(method),
    pattern,
    caller: decision.caller,
    realm: pipeline.realm,
    dryRun: pipeline.dryRun,
  })
  next()
}

type LayerConstructor = new (path: string, options: object, fn: unknown) => RouterLayer

/** A layer for a route's own stack, built with the router's Layer class, for every method. */
function gateLayer(sample: RouterLayer, fn: (req: Request, res: Response, next: NextFunction) => void) {
  const Layer = sample.constructor as LayerConstructor
  const layer = new Layer('/', {}, fn)
  layer.method = undefined
  return layer
}

/** The mount path and pattern of a site made of plain strings without parameters, else undefined. */
function staticPattern(site: RouteSite): { base: string; pattern: string } | undefined {
  let base = ''
  for (const mount of site.mounts) {
    if (typeof mount.rawPath !== 'string' || /[:*?(){}\\]/.test(mount.rawPath)) return undefined
    base = joinPattern(base, mount.rawPath === '/' ? '' : mount.rawPath.replace(/\/+$/, ''))
  }
  if (typeof site.layer.rawPath !== 'string') return undefined
  return { base, pattern: joinPattern(base, site.layer.rawPath) }
}
