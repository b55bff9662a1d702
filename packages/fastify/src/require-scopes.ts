import { AuthError } from '@callsign/core'
import { requiredScopes } from '@callsign/core/adapter'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { fromFastify } from './from-fastify.js'
import { STATE, type WithState } from './lib/request-state.js'
import { sendRefusal } from './lib/send-refusal.js'

/**
 * A route hook requiring scopes on top of the policy entry: every one must be held. Use it as the
 * route's `onRequest` (before the body is read) or `preHandler`. It is a decision of its own, made
 * and audited by the same pipeline as the route's (dry run included), with the same 401/403 contract.
 *
 * @example
 * app.delete('/orders/:id', { onRequest: requireScopes('orders:admin') }, async () => ({ deleted: true }))
 */
export function requireScopes(
  ...scopes: string[]
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const required = requiredScopes(scopes)
  return async function callsignRequireScopes(request, reply) {
    const state = (request as WithState)[STATE]
    const route = request.routeOptions.url
    if (!state || route === undefined) {
      // The auth plugin did not decide this request: refuse, never let through.
      return sendRefusal(reply, new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' }), 'callsign')
    }
    const decision = state.pipeline.authorize(fromFastify(request, route), request.caller, required)
    return decision.allowed ? undefined : sendRefusal(reply, decision.error, state.pipeline.realm)
  }
}
