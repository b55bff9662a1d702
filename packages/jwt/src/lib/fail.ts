import type { AuditReason, AuthError } from '@callsign/core'
import { refusal } from '@callsign/core/adapter'

/** A JWT that is ours but bad: 401, the reason for the audit log only. */
export function invalid(reason: AuditReason, cause?: unknown): AuthError {
  return refusal('ERR_INVALID_CREDENTIAL', cause === undefined ? { reason } : { reason, cause })
}
