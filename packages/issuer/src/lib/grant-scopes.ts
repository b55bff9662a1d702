import { type Caller, isScope } from '@callsign/core'
import { OAuthError } from './oauth-error.js'

export interface Grant {
  readonly audience: string
  readonly scopes: readonly string[]
}

/**
 * What the token may carry: the requested `audience` (one of the allowed audiences; absent → the only
 * one, when there is exactly one) and the requested `scope` narrowed from the client's scopes (every
 * requested scope must be held; absent → all of them). Never a scope the client does not hold.
 */
export function grantScopes(
  caller: Caller,
  params: ReadonlyMap<string, string>,
  audiences: readonly string[],
): Grant {
  const requestedAudience = params.get('audience')
  let audience: string
  if (requestedAudience === undefined) {
    if (audiences.length !== 1) throw new OAuthError('invalid_request', { reason: 'audience_required' })
    audience = audiences[0]!
  } else if (audiences.includes(requestedAudience)) {
    audience = requestedAudience
  } else {
    throw new OAuthError('invalid_target', { reason: 'audience_not_allowed' })
  }

  const held = [...caller.scopes].filter((scope) => isScope(scope)).sort()
  const requested = params.get('scope')
  if (requested === undefined || requested.trim() === '') {
    if (held.length === 0) {
      throw new OAuthError('unauthorized_client', {
        reason: 'no_scopes',
        auditCode: 'ERR_INSUFFICIENT_SCOPE',
      })
    }
    return { audience, scopes: held }
  }
  const wanted = [...new Set(requested.trim().split(/ +/))]
  for (const scope of wanted) {
    if (!isScope(scope) || !caller.scopes.has(scope)) {
      throw new OAuthError('invalid_scope', { reason: 'scope_not_held', auditCode: 'ERR_INSUFFICIENT_SCOPE' })
    }
  }
  return { audience, scopes: wanted.sort() }
}
