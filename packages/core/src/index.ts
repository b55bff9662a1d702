export {
  type AdapterOptions,
  type CoverageOptions,
  type CoverageReport,
  checkCoverage,
  type ResolvedAdapterOptions,
  resolveAdapterOptions,
} from './adapter-options.js'
export { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditSink } from './audit-event.js'
export { AUDIT_REASONS, type AuditReason, type BuiltInReason } from './audit-reason.js'
export {
  AuthError,
  type AuthErrorCode,
  type AuthErrorOptions,
  ConfigError,
  isAuthError,
} from './auth-error.js'
export type { AuthRequest, TlsPeer, Transport } from './auth-request.js'
export { bearerToken, bearerValue, singleAuthorization } from './authorization.js'
export type { Caller, CredentialKind } from './caller.js'
export { type Clock, systemClock } from './clock.js'
export { createPipeline, type Decision, type Pipeline, type PipelineOptions } from './create-pipeline.js'
export { decideOrRefuse } from './decide-or-refuse.js'
export { CORE_METER, type TelemetryOptions } from './decision-telemetry.js'
export {
  type Coverage,
  definePolicy,
  type Policy,
  type PolicyInput,
  type Requirement,
  type RouteRule,
} from './define-policy.js'
export { GRPC_ERROR_CODE_KEY, GRPC_STATUS, HTTP_STATUS, type HttpRefusal, httpRefusal } from './error-wire.js'
export { fromNodeRequest } from './from-node-request.js'
export { type ComponentHealth, type HealthStatus, type PipelineHealth, worseStatus } from './health.js'
export {
  type AuditSinkHealth,
  type JsonLinesAuditSink,
  type JsonLinesAuditSinkOptions,
  jsonLinesAuditSink,
} from './json-lines-audit-sink.js'
export { checkLogger, type LogFn, type Logger, warn } from './logger.js'
export {
  loadPolicyFile,
  type PolicyWatcher,
  type WatchPolicyOptions,
  watchPolicyFile,
} from './policy-file.js'
export { rawHeader } from './raw-header.js'
export { type ReloadTelemetry, reloadTelemetry } from './reload-telemetry.js'
export { isScope, requiredScopes } from './scope.js'
export { tlsPeerFromSocket } from './tls-peer-from-socket.js'
export type { Verifier } from './verifier.js'
export { type FileWatcher, type WatchFilesOptions, watchFiles } from './watch-files.js'
export { writeFileAtomic } from './write-file-atomic.js'
