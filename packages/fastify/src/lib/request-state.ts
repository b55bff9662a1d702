/** The pipeline settings `requireScopes` needs, per request. */
export interface RequestState {
  readonly realm: string
  readonly dryRun: boolean
}

/** Where a request carries its {@link RequestState}: a decoration only this package can name. */
export const STATE: unique symbol = Symbol('callsign.state')

export interface WithState {
  [STATE]?: RequestState | null
}
