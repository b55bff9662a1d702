// Core computes it: the JWT verifier checks a bound token's `cnf["x5t#S256"]` with the same function.
export { certificateThumbprint } from '@callsign/core/adapter'
