import type { Caller } from '@callsign/core'

/** What Callsign decided for a request. */
export interface RequestState {
  /** `'GET /orders/:id'`, with HEAD written as GET: the key the decision was made for. */
  readonly key: string
  readonly caller: Caller | null
  readonly realm: string
  readonly dryRun: boolean
}

const states = new WeakMap<object, RequestState>()

export function decisionKey(method: string, pattern: string): string {
  const upper = method.toUpperCase()
  return `${upper === 'HEAD' ? 'GET' : upper} ${pattern}`
}

/** Kept beside the request, not on it: no extra property changes the request object's shape. */
export function stateOf(req: object): RequestState | undefined {
  return states.get(req)
}

export function setState(req: object, state: RequestState): void {
  states.set(req, state)
}
