import { invalid } from './fail.js'

export interface ClaimRules {
  readonly audiences: ReadonlySet<string>
  readonly maxLifetime: number
  readonly clockTolerance: number
  readonly scopeClaim: string | undefined
  readonly subjectClaim: string
}

export interface CheckedClaims {
  readonly subject: string
  readonly exp: number
  readonly iat: number
  readonly nbf: number | undefined
  readonly scopes: readonly string[]
  readonly jti: string | undefined
  /** `cnf["x5t#S256"]` when the token is bound to a certificate (RFC 8705). */
  readonly x5t: string | undefined
}

/**
 * Checks the registered claims of a payload whose signature and issuer are already verified:
 * `sub`, `aud`, `exp`, `iat`, `nbf`, the lifetime, scopes, `jti` and `cnf`.
 */
export function checkClaims(
  payload: Readonly<Record<string, unknown>>,
  rules: ClaimRules,
  now: number,
): CheckedClaims {
  const tolerance = rules.clockTolerance
  const exp = numericDate(payload, 'exp', true) as number
  const iat = numericDate(payload, 'iat', true) as number
  const nbf = numericDate(payload, 'nbf', false)
  if (now - tolerance >= exp) throw invalid('expired')
  if (nbf !== undefined && nbf > now + tolerance) throw invalid('not_yet_valid')
  if (iat > now + tolerance) throw invalid('issued_in_future')
  if (exp - iat > rules.maxLifetime) throw invalid('lifetime_too_long')

  const sub = stringClaim(payload, 'sub')
  const subject = rules.subjectClaim === 'sub' ? sub : stringClaim(payload, rules.subjectClaim)
  checkAudience(payload.aud, rules.audiences)

  const jti = payload.jti
  if (jti !== undefined && (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)) {
    throw invalid('invalid_claim')
  }
  return {
    subject,
    exp,
    iat,
    nbf,
    scopes: readScopes(payload, rules.scopeClaim),
    jti,
    x5t: readBinding(payload.cnf),
  }
}

function numericDate(
  payload: Readonly<Record<string, unknown>>,
  name: string,
  required: boolean,
): number | undefined {
  const value = payload[name]
  if (value === undefined) {
    if (required) throw invalid('missing_claim')
    return undefined
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid('invalid_claim')
  return value
}

function stringClaim(payload: Readonly<Record<string, unknown>>, name: string): string {
  const value = Object.hasOwn(payload, name) ? payload[name] : undefined
  if (value === undefined) throw invalid('missing_claim')
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw invalid('invalid_claim')
  return value
}

function checkAudience(aud: unknown, ours: ReadonlySet<string>): void {
  if (aud === undefined) throw invalid('missing_claim')
  if (typeof aud === 'string') {
    if (!ours.has(aud)) throw invalid('wrong_audience')
    return
  }
  if (!Array.isArray(aud) || aud.some((entry) => typeof entry !== 'string')) throw invalid('invalid_claim')
  if (!aud.some((entry) => ours.has(entry))) throw invalid('wrong_audience')
}

function readScopes(
  payload: Readonly<Record<string, unknown>>,
  claim: string | undefined,
): readonly string[] {
  const name = claim ?? (payload.scope !== undefined ? 'scope' : 'scp')
  const value = Object.hasOwn(payload, name) ? payload[name] : undefined
  if (value === undefined) return []
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope.length > 0)
  if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) return value
  throw invalid('invalid_claim')
}

function readBinding(cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw invalid('invalid_claim')
  const members = Object.keys(cnf)
  const x5t = (cnf as Record<string, unknown>)['x5t#S256']
  // Another confirmation method (DPoP `jkt` …) cannot be checked here: refuse rather than ignore it.
  if (members.length !== 1 || typeof x5t !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(x5t)) {
    throw invalid('certificate_binding')
  }
  return x5t
}
