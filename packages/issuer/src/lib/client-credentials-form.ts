import { OAuthError } from './oauth-error.js'
import type { ParsedForm } from './parse-form.js'

/** The parameters of a client_credentials token request. */
export interface ClientCredentialsForm {
  readonly params: ReadonlyMap<string, string>
  /** Every `resource` value, in order (RFC 8707). */
  readonly resources: readonly string[]
}

/**
 * The first two steps of a token request: the body is a well-formed form (the content type parser
 * gives a {@link ParsedForm}, or nothing for an empty body), and its grant is `client_credentials`,
 * the only one this issuer serves (RFC 6749 §4.4).
 */
export function clientCredentialsForm(body: unknown): ClientCredentialsForm {
  const form = body as ParsedForm | undefined
  if (form === undefined) throw new OAuthError('invalid_request', { reason: 'not_a_form_body' })
  if (!form.ok) throw new OAuthError('invalid_request', { reason: form.reason })
  const grantType = form.params.get('grant_type')
  if (grantType === undefined) throw new OAuthError('invalid_request', { reason: 'grant_type_missing' })
  if (grantType !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', { reason: 'unsupported_grant_type' })
  }
  return { params: form.params, resources: form.resources }
}
