export { auth } from './auth.js'
export { getCaller } from './get-caller.js'
export type { AuthOptions, CoverageOptions, CoverageReport } from './lib/resolve-options.js'
export { requireScopes } from './require-scopes.js'
