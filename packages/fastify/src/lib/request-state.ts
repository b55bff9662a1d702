/** The pipeline settings `requireScopes` needs, per request, without a public decoration. */
export interface RequestState {
  readonly realm: string
  readonly dryRun: boolean
}

export const states = new WeakMap<object, RequestState>()
