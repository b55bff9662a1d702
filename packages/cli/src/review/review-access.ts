import type { AuditEvent, CredentialKind } from '@callsign/core'

const DAY = 86_400_000

/** A credential the review knows of: an API key from the store, or a certificate from a folder. */
export interface ReviewedCredential {
  readonly id: string
  readonly kind: CredentialKind
  /** The service that holds it. */
  readonly owner: string
  readonly scopes: readonly string[]
  readonly createdAt?: Date
  /** `null`: never expires. */
  readonly expiresAt: Date | null
  readonly active: boolean
  /** Where it came from, for the report (`keys.json`, `certs-dev/orders/tls.crt`). */
  readonly source?: string
}

export interface ReviewThresholds {
  /** Keys older than this should be rotated. Default 90. */
  readonly maxKeyAgeDays: number
  /** Credentials unused this long (or never used) should be disabled. Default 60. */
  readonly unusedDays: number
  /** Scopes not used in this window should be trimmed. Default 90. */
  readonly scopeWindowDays: number
  /** Credentials expiring this soon should be renewed. Default 14. */
  readonly expiringDays: number
}

export const DEFAULT_THRESHOLDS: ReviewThresholds = {
  maxKeyAgeDays: 90,
  unusedDays: 60,
  scopeWindowDays: 90,
  expiringDays: 14,
}

export type FindingType = 'old-key' | 'unused' | 'unused-scopes' | 'expiring' | 'no-expiry'

export interface Finding {
  readonly type: FindingType
  readonly credentialId: string
  readonly kind: CredentialKind
  readonly owner: string
  /** What was seen, in words. */
  readonly detail: string
  /** What to do. */
  readonly action: string
  /** For `unused-scopes`: the scopes never used, and the narrower grant recommended. */
  readonly unusedScopes?: readonly string[]
  readonly recommendedScopes?: readonly string[]
}

export interface ReviewReport {
  readonly now: string
  readonly thresholds: ReviewThresholds
  readonly credentials: number
  readonly findings: readonly Finding[]
}

/**
 * Reviews credentials against the audit trail. Reads the events once, as a stream, keeping only
 * per-credential and per-caller summaries: memory grows with the number of credentials, never
 * with the size of the log.
 */
export async function reviewAccess(
  credentials: readonly ReviewedCredential[],
  events: AsyncIterable<AuditEvent>,
  now: Date,
  thresholds: ReviewThresholds = DEFAULT_THRESHOLDS,
): Promise<ReviewReport> {
  const scopeWindowStart = now.getTime() - thresholds.scopeWindowDays * DAY
  const lastUsed = new Map<string, number>()
  const scopesUsedBy = new Map<string, Set<string>>()
  for await (const event of events) {
    if (event.decision !== 'allow' || event.caller === undefined) continue
    const time = Date.parse(event.time)
    if (event.credentialId !== undefined) {
      const key = `${event.kind}:${event.credentialId}`
      if ((lastUsed.get(key) ?? Number.NEGATIVE_INFINITY) < time) lastUsed.set(key, time)
    }
    if (time >= scopeWindowStart && event.scopes.length > 0) {
      const used = scopesUsedBy.get(event.caller) ?? new Set<string>()
      scopesUsedBy.set(event.caller, used)
      for (const scope of event.scopes) used.add(scope)
    }
  }

  const findings: Finding[] = []
  const days = (ms: number) => Math.floor(ms / DAY)
  for (const credential of credentials) {
    if (!credential.active) continue
    const expiresIn = credential.expiresAt ? credential.expiresAt.getTime() - now.getTime() : undefined
    if (expiresIn !== undefined && expiresIn <= 0) continue
    const base = { credentialId: credential.id, kind: credential.kind, owner: credential.owner }
    const age = credential.createdAt ? now.getTime() - credential.createdAt.getTime() : undefined

    if (credential.kind === 'api-key' && age !== undefined && age > thresholds.maxKeyAgeDays * DAY) {
      findings.push({
        ...base,
        type: 'old-key',
        detail: `created ${days(age)} days ago`,
        action: 'rotate it',
      })
    }
    const used = lastUsed.get(`${credential.kind}:${credential.id}`)
    const idleSince = used ?? credential.createdAt?.getTime()
    const idle = idleSince !== undefined && now.getTime() - idleSince > thresholds.unusedDays * DAY
    if (credential.kind === 'api-key' && idle) {
      findings.push({
        ...base,
        type: 'unused',
        detail: used === undefined ? 'never used' : `last used ${days(now.getTime() - used)} days ago`,
        action: 'disable it',
      })
    }
    if (credential.scopes.length > 0) {
      const usedScopes = scopesUsedBy.get(credential.owner) ?? new Set<string>()
      const unusedScopes = credential.scopes.filter((scope) => !usedScopes.has(scope))
      const recommended = credential.scopes.filter((scope) => usedScopes.has(scope))
      if (unusedScopes.length > 0 && recommended.length > 0) {
        findings.push({
          ...base,
          type: 'unused-scopes',
          detail: `${unusedScopes.join(', ')} not used by ${credential.owner} in ${thresholds.scopeWindowDays} days`,
          action: `narrow it to ${recommended.join(' ')}`,
          unusedScopes,
          recommendedScopes: recommended,
        })
      } else if (unusedScopes.length > 0 && used !== undefined) {
        findings.push({
          ...base,
          type: 'unused-scopes',
          detail: `none of its scopes used by ${credential.owner} in ${thresholds.scopeWindowDays} days`,
          action: 'disable it, or grant only what is used',
          unusedScopes,
          recommendedScopes: [],
        })
      }
    }
    if (expiresIn === undefined && credential.kind === 'api-key') {
      findings.push({ ...base, type: 'no-expiry', detail: 'never expires', action: 'give it an expiry' })
    } else if (expiresIn !== undefined && expiresIn <= expiringWindow(credential, thresholds)) {
      findings.push({
        ...base,
        type: 'expiring',
        detail: `expires in ${Math.max(0, days(expiresIn))} days (${credential.expiresAt?.toISOString()})`,
        action: credential.kind === 'mtls' ? 'renew it' : 'rotate it',
      })
    }
  }
  return { now: now.toISOString(), thresholds, credentials: credentials.length, findings }
}

/**
 * How close to expiry a credential is reported. Keys: the threshold. Certificates: the threshold,
 * or the last third of their lifetime when that is shorter, so short-lived certificates that renew
 * on schedule (cert-manager renews at two thirds) are not reported all their life.
 */
function expiringWindow(credential: ReviewedCredential, thresholds: ReviewThresholds): number {
  const window = thresholds.expiringDays * DAY
  if (credential.kind !== 'mtls' || !credential.createdAt || !credential.expiresAt) return window
  return Math.min(window, (credential.expiresAt.getTime() - credential.createdAt.getTime()) / 3)
}
