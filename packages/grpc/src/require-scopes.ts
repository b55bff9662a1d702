import { AuthError, ConfigError, isScope } from '@callsign/core'
import type { Metadata, StatusObject, UntypedHandleCall } from '@grpc/grpc-js'
import { callStateOf } from './lib/call-state.js'
import { grpcRefusal } from './lib/grpc-refusal.js'

/**
 * Wraps a handler with a requirement on top of the policy entry: every scope must be held. A
 * refusal ends the call with 7 PERMISSION_DENIED (16 when there is no verified caller) and the
 * code in trailing metadata, like the policy. Works for all four handler kinds.
 *
 * @example
 * server.addService(Inventory.service, {
 *   reserve: requireScopes('inventory:admin')((call, callback) => callback(null, {})),
 * })
 */
export function requireScopes(...scopes: string[]): <H extends UntypedHandleCall>(handler: H) => H {
  if (scopes.length === 0) throw new ConfigError('requireScopes(): name at least one scope')
  for (const scope of scopes) {
    if (!isScope(scope)) {
      throw new ConfigError(`requireScopes(): ${JSON.stringify(scope)} is not a scope ("resource:action")`)
    }
  }
  const required = Object.freeze([...new Set(scopes)])
  return <H extends UntypedHandleCall>(handler: H): H => {
    if (typeof handler !== 'function')
      throw new ConfigError('requireScopes(...)(handler): "handler" must be a function')
    const wrapped = function callsignRequireScopes(
      this: unknown,
      call: { metadata: Metadata; emit(event: 'error', error: unknown): void },
      callback?: (error: Partial<StatusObject>) => void,
    ) {
      const state = callStateOf(call.metadata)
      let error: AuthError | undefined
      if (state?.dryRun) error = undefined
      else if (!state?.caller) error = new AuthError('ERR_NO_CREDENTIAL', { reason: 'no_caller' })
      else if (required.some((scope) => !state.caller?.scopes.has(scope))) {
        error = new AuthError('ERR_INSUFFICIENT_SCOPE', { reason: 'scope_missing', requiredScopes: required })
      }
      if (!error) return (handler as unknown as (...args: unknown[]) => void).call(this, call, callback)
      const status = grpcRefusal(error)
      if (typeof callback === 'function') callback(status)
      else call.emit('error', status)
    }
    return wrapped as unknown as H
  }
}
