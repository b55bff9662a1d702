import { type Caller, isScope } from '@callsign/core'
import { OAuthError } from './oauth-error.js'

export interface Grant {
  readonly audience: readonly string[]
  readonly scopes: readonly string[]
}

/**
 * What the token may carry: the audiences named by `resource` (RFC 8707, one or more) or by
 * `audience` (one), each of them one of the allowed audiences; neither → the only one, when there
 * is exactly one. And the requested `scope` narrowed from the client's scopes (every requested
 * scope must be held; absent → all of them). Never a scope the client does not hold.
 */
export function grantScopes(
  caller: Caller,
  params: ReadonlyMap<string, string>,
  resources: readonly string[],
  audiences: readonly string[],
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
  audiences: readonly string[],
): readonly string[] {
  if (requested !== undefined && resources.length > 0) {
    throw new OAuthError('invalid_request', { reason: 'audience_and_resource' })
  }
  if (resources.length > 0) {
    if (resources.some((resource) => !audiences.includes(resource))) {
      throw new OAuthError('invalid_target', { reason: 'resource_not_allowed' })
    }
    return [...new Set(resources)]
  }
  if (requested === undefined) {
    if (audiences.length !== 1) throw new OAuthError('invalid_request', { reason: 'audience_required' })
    return audiences
  }
  if (!audiences.includes(requested))
    throw new OAuthError('invalid_target', { reason: 'audience_not_allowed' })
  return [requested]
}
