/**
 * `@callsign/core/adapter`: the kit for packages built on the core (framework adapters, verifiers,
 * key stores), not for applications, which need only `@callsign/core`. What a new adapter
 * implements with it: see "Writing an adapter" in the core README.
 */
export {
  type AdapterOptions,
  type CoverageOptions,
  type CoverageReport,
  checkCoverage,
  type ResolvedAdapterOptions,
  resolveAdapterOptions,
} from './adapter-options.js'
export { bearerToken, bearerValue, singleAuthorization } from './authorization.js'
export { certificateThumbprint } from './certificate-thumbprint.js'
export { decideOrRefuse } from './decide-or-refuse.js'
export { GRPC_ERROR_CODE_KEY, GRPC_STATUS, HTTP_STATUS, type HttpRefusal, httpRefusal } from './error-wire.js'
export { fromNodeRequest } from './from-node-request.js'
export { worseStatus } from './health.js'
export { isLoopbackHost } from './is-loopback-host.js'
export { checkLogger, warn } from './logger.js'
export { rawHeader } from './raw-header.js'
export { refusal } from './refusal.js'
export {
  type ReloadableFileHealth,
  type ReloadReport,
  type ReloadReportOptions,
  reloadReport,
} from './reload-report.js'
export { type ReloadTelemetry, reloadTelemetry } from './reload-telemetry.js'
export {
  openReloadableFile,
  type ReloadableFile,
  type ReloadableFileCommon,
  type ReloadableFileOptions,
  reloadableFile,
} from './reloadable-file.js'
export { requiredScopes } from './scope.js'
export { tlsPeerFromSocket } from './tls-peer-from-socket.js'
export { type TokenBucket, type TokenBucketRate, tokenBucket } from './token-bucket.js'
export { type FileWatcher, type WatchFilesOptions, watchFiles } from './watch-files.js'
export { writeFileAtomic } from './write-file-atomic.js'
