import type { AuditEvent, CredentialKind } from '@callsign/core'
import { plural } from '../plural.js'

const DAY = 86_400_000

/** A credential the review knows of: an API key from the store, or a certificate from a folder. */
export interface ReviewedCredential {
  readonly id: string
  readonly kind: CredentialKind
  /** The service that holds it. */
  readonly owner: string
  readonly scopes: readonly string[]
  /** Those of `scopes` that the services' policies grant its owner, not the credential itself. */
  readonly policyScopes?: readonly string[]
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

export type FindingType = 'old-key' | 'unused' | 'unused-scopes' | 'expiring' | 'expired' | 'no-expiry'

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
 * Reviews credentials against the audit trail. A finding about a window (scopes unused in the
 * scope window) is made only for a credential that has existed for the whole window; "unused"
 * counts from the last use, or from the creation of a key never used. Expired certificates are
 * reported (`expired`); expired keys are not (they are refused already). Events after `now` are
 * not counted, so a review `--now` in the past sees what was known then.
 *
 * Reads the events once, as a stream, keeping only per-credential and per-caller summaries:
 * memory grows with the number of credentials, never with the size of the log.
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
    if (time > now.getTime()) continue
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
  const days = (ms: number) => plural(Math.floor(ms / DAY), 'day')
  for (const credential of credentials) {
    if (!credential.active) continue
    const base = { credentialId: credential.id, kind: credential.kind, owner: credential.owner }
    const expiresIn = credential.expiresAt ? credential.expiresAt.getTime() - now.getTime() : undefined
    if (expiresIn !== undefined && expiresIn <= 0) {
      // an expired key is refused and harmless; an expired certificate is still deployed, and breaks
      // every connection that presents it
      if (credential.kind === 'mtls') {
        findings.push({
          ...base,
          type: 'expired',
          detail: `expired ${days(-expiresIn)} ago (${credential.expiresAt?.toISOString()})`,
          action: 'renew it',
        })
      }
      continue
    }
    // How long the credential has existed: a finding about a window is made only once the
    // credential has existed for the whole window (unknown: assumed to have).
    const age = credential.createdAt ? now.getTime() - credential.createdAt.getTime() : undefined
    const existedFor = (windowDays: number) => age === undefined || age >= windowDays * DAY
    const since = age === undefined ? '' : ` (created ${days(age)} ago)`

    if (credential.kind === 'api-key' && age !== undefined && age > thresholds.maxKeyAgeDays * DAY) {
      findings.push({
        ...base,
        type: 'old-key',
        detail: `created ${days(age)} ago`,
        action: 'rotate it',
      })
    }
    const used = lastUsed.get(`${credential.kind}:${credential.id}`)
    if (credential.kind === 'api-key') {
      const idle = used === undefined ? age : now.getTime() - used
      if (idle !== undefined && idle > thresholds.unusedDays * DAY) {
        findings.push({
          ...base,
          type: 'unused',
          detail:
            used === undefined ? `never used since created ${days(idle)} ago` : `last used ${days(idle)} ago`,
          action: 'disable it',
        })
      }
    }
    if (credential.scopes.length > 0 && existedFor(thresholds.scopeWindowDays)) {
      const usedScopes = scopesUsedBy.get(credential.owner) ?? new Set<string>()
      const unusedScopes = credential.scopes.filter((scope) => !usedScopes.has(scope))
      const recommended = credential.scopes.filter((scope) => usedScopes.has(scope))
      const window = `in the last ${plural(thresholds.scopeWindowDays, 'day')}${since}`
      // a certificate's scopes are the policies' grants to its identity: those are what to narrow
      const narrowed = credential.kind === 'mtls' ? 'its policy grants' : 'it'
      if (unusedScopes.length > 0 && recommended.length > 0) {
        findings.push({
          ...base,
          type: 'unused-scopes',
          detail: `${unusedScopes.join(', ')} not used by ${credential.owner} ${window}`,
          action:
            keyAndPolicyAction(credential, unusedScopes, recommended) ??
            `narrow ${narrowed} to ${recommended.join(' ')}`,
          unusedScopes,
          recommendedScopes: recommended,
        })
      } else if (unusedScopes.length > 0 && used !== undefined) {
        findings.push({
          ...base,
          type: 'unused-scopes',
          detail: `none of its scopes used by ${credential.owner} ${window}`,
          action:
            credential.kind === 'mtls'
              ? 'remove its policy grants, or grant only what is used'
              : (keyAndPolicyAction(credential, unusedScopes, recommended) ??
                'disable it, or grant only what is used'),
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
        detail: `expires in ${expiresIn < DAY ? 'less than a day' : days(expiresIn)} (${credential.expiresAt?.toISOString()})`,
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

/**
 * What to do about a key's unused scopes when the policies grant its owner some of them (`--policy`):
 * narrow the key for its own, remove the policy grants for the others. Undefined for a certificate
 * or a key without such grants.
 */
function keyAndPolicyAction(
  credential: ReviewedCredential,
  unused: readonly string[],
  used: readonly string[],
): string | undefined {
  if (credential.kind !== 'api-key' || !credential.policyScopes?.length) return undefined
  const fromPolicies = new Set(credential.policyScopes)
  const keyUnused = unused.filter((scope) => !fromPolicies.has(scope))
  const keyUsed = used.filter((scope) => !fromPolicies.has(scope))
  const policyUnused = unused.filter((scope) => fromPolicies.has(scope))
  const actions: string[] = []
  if (keyUnused.length > 0) {
    if (keyUsed.length > 0) actions.push(`narrow it to ${keyUsed.join(' ')}`)
    else if (used.length === 0) actions.push('disable it, or grant only what is used')
    else actions.push(`remove ${keyUnused.join(' ')} from it`)
  }
  if (policyUnused.length > 0) actions.push(`remove ${policyUnused.join(' ')} from its owner's policy grants`)
  return actions.join('; ')
}
