import { type Caller, isScope } from '@callsign/core'
import { OAuthError } from './oauth-error.js'

export interface Grant {
  readonly audience: readonly string[]
  readonly scopes: readonly string[]
}

/** The audiences the issuer serves, and those this client may have (a subset). */
export interface AudienceRules {
  readonly served: readonly string[]
  readonly allowed: readonly string[]
}

/**
 * What the token may carry: the audiences named by `resource` (RFC 8707, one or more) or by
 * `audience` (one), each served by the issuer and allowed to the client; neither → the client's only
 * one, when it has exactly one. And the requested `scope` narrowed from the client's scopes (every
 * requested scope must be held; absent → all of them). Never a scope the client does not hold.
 */
export function grantScopes(
  caller: Caller,
  params: ReadonlyMap<string, string>,
  resources: readonly string[],
  audiences: AudienceRules,
): Grant {
  const audience = grantAudience(params.get('audience'), resources, audiences)

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

function grantAudience(
  requested: string | undefined,
  resources: readonly string[],
  { served, allowed }: AudienceRules,
): readonly string[] {
  if (requested !== undefined && resources.length > 0) {
    throw new OAuthError('invalid_request', { reason: 'audience_and_resource' })
  }
  const named = resources.length > 0 ? resources : requested === undefined ? [] : [requested]
  const what = resources.length > 0 ? 'resource' : 'audience'
  if (named.some((value) => !served.includes(value))) {
    throw new OAuthError('invalid_target', { reason: `${what}_not_allowed` })
  }
  if (named.some((value) => !allowed.includes(value))) {
    throw new OAuthError('invalid_target', { reason: `${what}_not_granted` })
  }
  if (named.length > 0) return [...new Set(named)]
  if (allowed.length !== 1) throw new OAuthError('invalid_request', { reason: 'audience_required' })
  return allowed
}
