import type { Caller } from '@callsign/core'

/** What Callsign decided for a request, kept under a private symbol. */
export interface RequestState {
  /** `'GET /orders/:id'`, with HEAD written as GET: the key the decision was made for. */
  readonly key: string
  readonly caller: Caller | null
  readonly realm: string
  readonly dryRun: boolean
}

export const STATE: unique symbol = Symbol('callsign.express.state')

export function decisionKey(method: string, pattern: string): string {
  const upper = method.toUpperCase()
  return `${upper === 'HEAD' ? 'GET' : upper} ${pattern}`
}

export function stateOf(req: object): RequestState | undefined {
  return (req as { [STATE]?: RequestState })[STATE]
}

export function setState(req: object, state: RequestState): void {
  ;(req as { [STATE]?: RequestState })[STATE] = state
}
