import { AuthError } from './auth-error.js'
import type { AuthRequest } from './auth-request.js'
import type { Decision, Pipeline } from './create-pipeline.js'

/**
 * Decides a request for an adapter: the decision itself when the pipeline answered synchronously,
 * a promise of it otherwise, and never a throw or a rejection. Should the pipeline ever throw or
 * reject, the decision is a refusal (401, reason `adapter_error`): never an open door, a 500 or a
 * request left hanging. The adapter applies a synchronous decision in the same tick, with no
 * callback allocated per request.
 *
 * @example
 * const decision = decideOrRefuse(pipeline, fromNodeRequest(req, req.method, '/orders/:id'))
 * if (decision instanceof Promise) decision.then((settled) => apply(req, res, settled))
 * else apply(req, res, decision)
 */
export function decideOrRefuse(pipeline: Pipeline, req: AuthRequest): Decision | Promise<Decision> {
  let decision: Decision | Promise<Decision>
  try {
    decision = pipeline.decide(req)
  } catch (cause) {
    return adapterError(cause)
  }
  return decision instanceof Promise ? decision.then(undefined, adapterError) : decision
}

function adapterError(cause: unknown): Decision {
  return {
    allowed: false,
    error: new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'adapter_error', cause }),
  }
}
