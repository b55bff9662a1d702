import { AuthError, ConfigError, isScope } from '@callsign/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { STATE, type WithState } from './lib/request-state.js'
import { sendRefusal } from './lib/send-refusal.js'

/**
 * A route hook requiring scopes on top of the policy entry: every one must be held. Use it as the
 * route's `onRequest` (before the body is read) or `preHandler`. Same 401/403 contract as the policy.
 *
 * @example
 * app.delete('/orders/:id', { onRequest: requireScopes('orders:admin') }, async () => ({ deleted: true }))
 */
export function requireScopes(
  ...scopes: string[]
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  if (scopes.length === 0) throw new ConfigError('requireScopes(): name at least one scope')
  for (const scope of scopes) {
    if (!isScope(scope)) {
      throw new ConfigError(`requireScopes(): ${JSON.stringify(scope)} is not a scope ("resource:action")`)
    }
  }
  const required = Object.freeze([...new Set(scopes)])
  return async function callsignRequireScopes(request, reply) {
    const state = (request as WithState)[STATE]
    const realm = state?.realm ?? 'callsign'
    if (state?.dryRun) return undefined
    const caller = request.caller
    if (!caller) return sendRefusal(reply, new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' }), realm)
    if (required.some((scope) => !caller.scopes.has(scope))) {
      const error = new AuthError('ERR_INSUFFICIENT_SCOPE', {
        reason: 'scope_missing',
        requiredScopes: required,
      })
      return sendRefusal(reply, error, realm)
    }
    return undefined
  }
}
