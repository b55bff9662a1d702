import type { AuditReason } from './audit-reason.js'
import type { AuthErrorCode } from './auth-error.js'
import type { Transport } from './auth-request.js'
import type { CredentialKind } from './caller.js'

/** The audit schema version written in every event as `v`. */
export const AUDIT_SCHEMA_VERSION = 1

/**
 * One decision, allow or deny. Written as one JSON line. It names the caller and the credential
 * by id only: no token, key, secret or claim value ever appears in it.
 */
export interface AuditEvent {
  readonly v: typeof AUDIT_SCHEMA_VERSION
  /** ISO 8601 time of the decision. */
  readonly time: string
  /** `would-deny`: a refusal let through because the pipeline runs in dry-run mode. */
  readonly decision: 'allow' | 'deny' | 'would-deny'
  /** The error code of a refusal. */
  readonly code?: AuthErrorCode
  /** Why: `'granted'`, `'public'`, or a refusal's reason such as `'expired'` (see AUDIT_REASONS). */
  readonly reason: AuditReason
  readonly caller?: string
  readonly kind?: CredentialKind
  readonly credentialId?: string
  /** The scopes the route requires: on an allow, the scopes the caller used. */
  readonly scopes: readonly string[]
  readonly transport: Transport
  readonly method: string
  readonly route: string
  readonly remoteAddress?: string
  /** Time spent deciding, in milliseconds. */
  readonly latencyMs: number
}

/** Where audit events go. `write` must not block or throw. */
export interface AuditSink {
  write(event: AuditEvent): void
}
