import { AuthError } from './auth-error.js'
import type { AuthRequest } from './auth-request.js'
import type { Decision, Pipeline } from './create-pipeline.js'

/**
 * Decides a request and hands the decision on: in the same tick when the pipeline answered
 * synchronously, once it settles otherwise. For adapters, so that each takes the decision the same
 * way. Should the pipeline ever throw or reject, the decision is a refusal (401, reason
 * `adapter_error`): never an open door, a 500 or a request left hanging.
 *
 * @example
 * decideThen(pipeline, fromNodeRequest(req, req.method, '/orders/:id'), (decision) => {
 *   if (decision.allowed) next()
 *   else refuse(res, decision.error)
 * })
 */
export function decideThen(pipeline: Pipeline, req: AuthRequest, then: (decision: Decision) => void): void {
  let decision: Decision | Promise<Decision>
  try {
    decision = pipeline.decide(req)
  } catch (cause) {
    decision = adapterError(cause)
  }
  if (decision instanceof Promise) decision.then(then, (cause: unknown) => then(adapterError(cause)))
  else then(decision)
}

function adapterError(cause: unknown): Decision {
  return {
    allowed: false,
    error: new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'adapter_error', cause }),
  }
}
