import type { Caller } from '@callsign/core'

declare global {
  namespace Express {
    interface Request {
      /** The verified caller; `null` on a public route. Set by Callsign's `auth()`. */
      caller?: Caller | null
    }
  }
}

/**
 * The verified caller of this request. Throws when there is none: on a public route, or when
 * `auth()` was not attached to the app (a programming error, never a credential problem).
 *
 * @example
 * app.get('/orders/:id', (req, res) => {
 *   const caller = getCaller(req)
 *   res.json({ order: req.params.id, requestedBy: caller.id })
 * })
 */
export function getCaller(req: { readonly caller?: Caller | null }): Caller {
  if (req.caller) return req.caller
  throw new Error(
    'getCaller(): no verified caller on this request (a public route, or auth() is not attached)',
  )
}
