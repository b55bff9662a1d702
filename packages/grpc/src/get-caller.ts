import type { Caller } from '@callsign/core'
import type { Metadata } from '@grpc/grpc-js'
import { callStateOf } from './lib/call-state.js'

/**
 * The verified caller of a call, in unary, server-streaming, client-streaming and bidi handlers
 * alike. Throws when there is none: on a public method, or when `auth()` is not attached (a
 * programming error, never a credential problem).
 *
 * @example
 * server.addService(Inventory.service, {
 *   reserve(call, callback) {
 *     callback(null, { reservedFor: getCaller(call).id })
 *   },
 * })
 */
export function getCaller(call: { readonly metadata: Metadata }): Caller {
  const caller = callStateOf(call.metadata)?.caller
  if (!caller) {
    throw new Error(
      'getCaller(): no verified caller on this call (a public method, or auth() is not attached)',
    )
  }
  return caller
}
