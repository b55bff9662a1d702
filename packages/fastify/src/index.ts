export type { AdapterOptions as AuthOptions, CoverageOptions, CoverageReport } from '@callsign/core/adapter'
export { auth } from './auth.js'
export { getCaller } from './get-caller.js'
export { requireScopes } from './require-scopes.js'
