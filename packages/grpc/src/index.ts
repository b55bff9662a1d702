export type { CoverageOptions, CoverageReport } from '@callsign/core'
export { auth, type GrpcAuthOptions } from './auth.js'
export { getCaller } from './get-caller.js'
export { requireScopes } from './require-scopes.js'
