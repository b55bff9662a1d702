import { AuthError, ConfigError } from '@callsign/core'
import { requiredScopes } from '@callsign/core/adapter'
import type { Metadata, StatusObject, UntypedHandleCall } from '@grpc/grpc-js'
import { callStateOf } from './lib/call-state.js'
import { grpcRefusal } from './lib/grpc-refusal.js'

/**
 * Wraps a handler with a requirement on top of the policy entry: every scope must be held. It is a
 * decision of its own, made and audited by the same pipeline as the call's (dry run included): a
 * refusal ends the call with 7 PERMISSION_DENIED (16 when there is no verified caller) and the code
 * in trailing metadata. Works for all four handler kinds.
 *
 * @example
 * server.addService(Inventory.service, {
 *   reserve: requireScopes('inventory:admin')((call, callback) => callback(null, {})),
 * })
 */
export function requireScopes(...scopes: string[]): <H extends UntypedHandleCall>(handler: H) => H {
  const required = requiredScopes(scopes)
  return <H extends UntypedHandleCall>(handler: H): H => {
    if (typeof handler !== 'function')
      throw new ConfigError('requireScopes(...)(handler): "handler" must be a function')
    const wrapped = function callsignRequireScopes(
      this: unknown,
      call: { metadata: Metadata; emit(event: 'error', error: unknown): void },
      callback?: (error: Partial<StatusObject>) => void,
    ) {
      const state = callStateOf(call.metadata)
      // Without a decision from auth() nothing checked this call: refuse, never let through.
      const decision = state
        ? state.pipeline.authorize(state.request, state.caller, required)
        : { allowed: false as const, error: new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' }) }
      if (decision.allowed)
        return (handler as unknown as (...args: unknown[]) => void).call(this, call, callback)
      const status = grpcRefusal(decision.error)
      if (typeof callback === 'function') callback(status)
      else call.emit('error', status)
    }
    return wrapped as unknown as H
  }
}
