import type { Caller } from '@callsign/core'

/** What Callsign decided for a call, keyed by the call's request Metadata (which every handler kind exposes). */
export interface CallState {
  readonly caller: Caller | null
  readonly dryRun: boolean
}

export const callStates = new WeakMap<object, CallState>()
