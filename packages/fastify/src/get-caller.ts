import type { Caller } from '@callsign/core'

/**
 * The verified caller of this request. Throws when there is none: on a public route, or when the
 * `auth` plugin is not registered (a programming error, never a credential problem).
 *
 * @example
 * app.get('/orders/:id', async (request) => ({ requestedBy: getCaller(request).id }))
 */
export function getCaller(request: { readonly caller?: Caller | null }): Caller {
  if (request.caller) return request.caller
  throw new Error(
    'getCaller(): no verified caller on this request (a public route, or auth is not registered)',
  )
}
