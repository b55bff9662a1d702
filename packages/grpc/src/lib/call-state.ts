import type { Caller } from '@callsign/core'

/** What Callsign decided for a call. */
export interface CallState {
  readonly caller: Caller | null
  readonly dryRun: boolean
}

/** Where a call's request Metadata (which every handler kind exposes) carries its {@link CallState}. */
const STATE: unique symbol = Symbol('callsign.state')

export function setCallState(metadata: object, state: CallState): void {
  ;(metadata as { [STATE]?: CallState })[STATE] = state
}

export function callStateOf(metadata: object): CallState | undefined {
  return (metadata as { [STATE]?: CallState })[STATE]
}
