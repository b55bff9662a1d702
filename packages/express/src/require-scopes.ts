import { AuthError } from '@callsign/core'
import { requiredScopes } from '@callsign/core/adapter'
import type { NextFunction, Request, Response } from 'express'
import { fromExpress } from './from-express.js'
import { stateOf } from './lib/request-state.js'
import { sendRefusal } from './lib/send-refusal.js'

/**
 * Route middleware requiring scopes on top of the policy entry: every one must be held. It is a
 * decision of its own, made and audited by the same pipeline as the route's (dry run included):
 * 403 ERR_INSUFFICIENT_SCOPE, or 401 when there is no verified caller.
 *
 * @example
 * app.delete('/orders/:id', requireScopes('orders:admin'), (req, res) => res.sendStatus(204))
 */
export function requireScopes(
  ...scopes: string[]
): (req: Request, res: Response, next: NextFunction) => void {
  const required = requiredScopes(scopes)
  return function callsignRequireScopes(req, res, next) {
    const state = stateOf(req)
    if (state === undefined) {
      // auth() is not attached, so nothing decided this request: refuse, never let through.
      sendRefusal(res, new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' }), 'callsign')
      return
    }
    const { pipeline } = state
    const decision = pipeline.authorize(fromExpress(req, req.method, state.pattern), state.caller, required)
    if (decision.allowed) next()
    else sendRefusal(res, decision.error, pipeline.realm)
  }
}
