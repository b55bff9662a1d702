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
export type { Caller, CredentialKind } from './caller.js'
export { type Clock, systemClock } from './clock.js'
export { createPipeline, type Decision, type Pipeline, type PipelineOptions } from './create-pipeline.js'
export { CORE_METER, type TelemetryOptions } from './decision-telemetry.js'
export {
  type Coverage,
  definePolicy,
  type Policy,
  type PolicyGrant,
  type PolicyInput,
  type Requirement,
  type RouteRule,
} from './define-policy.js'
export type { ComponentHealth, HealthStatus, PipelineHealth } from './health.js'
export {
  type AuditSinkHealth,
  type JsonLinesAuditSink,
  type JsonLinesAuditSinkOptions,
  jsonLinesAuditSink,
} from './json-lines-audit-sink.js'
export type { LogFn, Logger } from './logger.js'
export {
  loadPolicyFile,
  type PolicyWatcher,
  type WatchPolicyOptions,
  watchPolicyFile,
} from './policy-file.js'
export { isScope } from './scope.js'
export type { Verifier } from './verifier.js'
