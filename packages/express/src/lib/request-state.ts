import type { Caller, Pipeline } from '@callsign/core'

/** What Callsign decided for a request. */
export interface RequestState {
  /** The method the decision was made for, upper-case, with HEAD written as GET. */
  readonly method: string
  /** The route pattern the decision was made for. */
  readonly pattern: string
  readonly caller: Caller | null
  /** The pipeline that decided, for `requireScopes` to decide its further scopes and audit them. */
  readonly pipeline: Pipeline
}

/** Where a request carries its {@link RequestState}: a property only this package can name. */
const STATE: unique symbol = Symbol('callsign.state')
type WithState = { [STATE]?: RequestState }

/** The method a decision covers: upper-case, HEAD governed by GET. */
export function decisionMethod(method: string): string {
  const upper = method.toUpperCase()
  return upper === 'HEAD' ? 'GET' : upper
}

export function stateOf(req: object): RequestState | undefined {
  return (req as WithState)[STATE]
}

export function setState(req: object, state: RequestState): void {
  ;(req as WithState)[STATE] = state
}
