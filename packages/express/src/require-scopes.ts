import { AuthError, ConfigError, isScope } from '@callsign/core'
import type { NextFunction, Request, Response } from 'express'
import { stateOf } from './lib/request-state.js'
import { sendRefusal } from './lib/send-refusal.js'

/**
 * Route middleware requiring scopes on top of the policy entry: every one must be held. Refuses
 * with 403 ERR_INSUFFICIENT_SCOPE (or 401 when there is no verified caller), like the policy does.
 *
 * @example
 * app.delete('/orders/:id', requireScopes('orders:admin'), (req, res) => res.sendStatus(204))
 */
export function requireScopes(
  ...scopes: string[]
): (req: Request, res: Response, next: NextFunction) => void {
  if (scopes.length === 0) throw new ConfigError('requireScopes(): name at least one scope')
  for (const scope of scopes) {
    if (!isScope(scope)) {
      throw new ConfigError(`requireScopes(): ${JSON.stringify(scope)} is not a scope ("resource:action")`)
    }
  }
  const required = Object.freeze([...new Set(scopes)])
  return function callsignRequireScopes(req, res, next) {
    const state = stateOf(req)
    const caller = req.caller
    const realm = state?.realm ?? 'callsign'
    if (state?.dryRun) return next()
    if (!caller) return sendRefusal(res, new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' }), realm)
    if (required.some((scope) => !caller.scopes.has(scope))) {
      const error = new AuthError('ERR_INSUFFICIENT_SCOPE', {
        reason: 'scope_missing',
        requiredScopes: required,
      })
      return sendRefusal(res, error, realm)
    }
    next()
  }
}
