import type { AuthRequest, Caller, Pipeline } from '@callsign/core'

/** What Callsign decided for a call. */
export interface CallState {
  readonly caller: Caller | null
  /** The pipeline that decided, for `requireScopes` to decide its further scopes and audit them. */
  readonly pipeline: Pipeline
  /** The call as the pipeline saw it. */
  readonly request: AuthRequest
}

/** Where a call's request Metadata (which every handler kind exposes) carries its {@link CallState}. */
const STATE: unique symbol = Symbol('callsign.state')

export function setCallState(metadata: object, state: CallState): void {
  ;(metadata as { [STATE]?: CallState })[STATE] = state
}

export function callStateOf(metadata: object): CallState | undefined {
  return (metadata as { [STATE]?: CallState })[STATE]
}
