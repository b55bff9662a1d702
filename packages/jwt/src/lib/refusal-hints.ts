import { isAuthError, type Logger } from '@callsign/core'
import { warn } from '@callsign/core/adapter'

/**
 * Explains, once per issuer and reason, the refusals that tokens from common identity providers
 * meet under the strict defaults: a lifetime above `maxLifetime`, no `aud`, no `sub`. The line goes
 * to `logger`, or the process warnings (`CALLSIGN_JWT_REFUSED`); it names the issuer, the claim and the option,
 * never the token or a claim's value. Only signed tokens of a configured issuer get here, so the
 * number of lines is bounded by issuers × 3.
 */
export function refusalHints(
  maxLifetime: number,
  logger?: Logger,
): (payload: Readonly<Record<string, unknown>>, error: unknown) => void {
  const told = new Set<string>()
  return (payload, error) => {
    if (!isAuthError(error)) return
    const hint = explain(payload, error.reason, maxLifetime)
    if (hint === undefined) return
    const issuer = String(payload.iss)
    const key = `${issuer}\n${hint.reason}`
    if (told.has(key)) return
    told.add(key)
    warn(
      logger,
      'CALLSIGN_JWT_REFUSED',
      `jwtVerifier refused a token from ${JSON.stringify(issuer)}: ${hint.text} (said once per issuer and reason; each refusal is in the audit log)`,
    )
  }
}

function explain(
  payload: Readonly<Record<string, unknown>>,
  reason: string,
  maxLifetime: number,
): { reason: string; text: string } | undefined {
  if (reason === 'lifetime_too_long') {
    const lifetime = (payload.exp as number) - (payload.iat as number)
    return {
      reason,
      text: `its lifetime (exp - iat) is ${lifetime} s, above maxLifetime (${maxLifetime} s); set the issuer's access token lifetime to ${maxLifetime} s or less, or raise the verifier's maxLifetime`,
    }
  }
  // missing_claim is also a missing exp or iat, which no IdP omits: then say nothing.
  if (reason !== 'missing_claim' || typeof payload.exp !== 'number' || typeof payload.iat !== 'number') {
    return undefined
  }
  if (payload.sub === undefined) {
    return {
      reason: 'missing_sub',
      text: 'it has no sub claim, which is required (subjectClaim only chooses which claim names the caller); have the issuer put the client in sub',
    }
  }
  if (payload.aud === undefined) {
    return {
      reason: 'missing_aud',
      text: "it has no aud claim, which is required; have the issuer add this service as the audience (its resource or API identifier) and list that value in the verifier's audience option",
    }
  }
  return undefined
}
