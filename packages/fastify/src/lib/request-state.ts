import type { Pipeline } from '@callsign/core'

/** What `requireScopes` needs per request: the pipeline that decided the route. */
export interface RequestState {
  readonly pipeline: Pipeline
}

/** Where a request carries its {@link RequestState}: a decoration only this package can name. */
export const STATE: unique symbol = Symbol('callsign.state')

export interface WithState {
  [STATE]?: RequestState | null
}
