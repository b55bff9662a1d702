import { performance } from 'node:perf_hooks'
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type Caller, type Clock } from '@callsign/core'
import type { FastifyRequest } from 'fastify'
import type { OAuthError } from './oauth-error.js'

/** How a token request ended: the client and the scopes issued, or the refusal. */
export type TokenOutcome =
  | { readonly caller: Caller; readonly scopes: readonly string[]; readonly error?: undefined }
  | { readonly caller?: Caller | undefined; readonly error: OAuthError }

export interface TokenRequestAuditOptions {
  readonly audit: (event: AuditEvent) => void
  readonly clock: Clock
  /** The token endpoint's route, as the event's `route`. */
  readonly route: string
}

/**
 * The one audit event of a token request, issued or refused: the client (once known, or named by
 * the refusal), the scopes issued, the refusal's reason and core code, and the time it took since
 * `started` (a `performance.now()` reading).
 */
export function tokenRequestAudit(
  options: TokenRequestAuditOptions,
): (request: FastifyRequest, started: number, outcome: TokenOutcome) => void {
  const { audit, clock, route } = options
  return (request, started, outcome) => {
    const { error } = outcome
    const who = outcome.caller ?? error?.caller
    const remoteAddress = request.raw.socket?.remoteAddress
    audit({
      v: AUDIT_SCHEMA_VERSION,
      time: new Date(clock.now()).toISOString(),
      decision: error ? 'deny' : 'allow',
      ...(error?.auditCode ? { code: error.auditCode } : {}),
      reason: error ? error.reason : 'token_issued',
      ...(who ? { caller: who.id, kind: who.kind, credentialId: who.credentialId } : {}),
      scopes: error ? [] : outcome.scopes,
      transport: 'http',
      method: 'POST',
      route,
      ...(remoteAddress ? { remoteAddress } : {}),
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
    })
  }
}
