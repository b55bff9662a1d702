export { auth, type GrpcAuthOptions } from './auth.js'
export { getCaller } from './get-caller.js'
export type { CoverageOptions, CoverageReport } from '@callsign/core'
export { requireScopes } from './require-scopes.js'
