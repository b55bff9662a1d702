/** A parsed SPIFFE ID: `spiffe://<trust domain><path>`. */
export interface SpiffeId {
  /** The whole ID, exactly as given (it is already canonical when it parses). */
  readonly id: string
  /** `mesh.local` */
  readonly trustDomain: string
  /** `/ns/prod/sa/billing`, or `''` for the ID of the trust domain itself. */
  readonly path: string
  /** `['ns', 'prod', 'sa', 'billing']` */
  readonly segments: readonly string[]
}

/** Which SPIFFE ID rule a value breaks (lower-case snake words, safe for logs). */
export type SpiffeIdRule =
  | 'not_a_string'
  | 'too_long'
  | 'scheme'
  | 'empty_trust_domain'
  | 'trust_domain_too_long'
  | 'trust_domain_characters'
  | 'userinfo'
  | 'port'
  | 'query'
  | 'fragment'
  | 'empty_segment'
  | 'dot_segment'
  | 'trailing_slash'
  | 'path_characters'

/**
 * A value that is not a SPIFFE ID; `rule` names the rule it breaks.
 *
 * @example
 * try {
 *   parseSpiffeId('spiffe://Mesh.Local/billing')
 * } catch (error) {
 *   if (error instanceof SpiffeIdError) console.log(error.rule) // 'trust_domain_characters'
 * }
 */
export class SpiffeIdError extends Error {
  override readonly name = 'SpiffeIdError'
  readonly code = 'ERR_INVALID_SPIFFE_ID'
  readonly rule: SpiffeIdRule
  constructor(rule: SpiffeIdRule) {
    super(`not a valid SPIFFE ID: ${rule.replaceAll('_', ' ')}`)
    this.rule = rule
  }
}

const MAX_BYTES = 2048
const MAX_TRUST_DOMAIN = 255
const TRUST_DOMAIN = /^[a-z0-9._-]+$/
const SEGMENT = /^[A-Za-z0-9._-]+$/

/**
 * Parses a SPIFFE ID by the rules of the SPIFFE ID standard: scheme `spiffe` in lower case, a
 * trust domain of lower-case letters, digits, `.`, `-` and `_`; a path of non-empty segments of
 * letters, digits, `.`, `-`, `_` that are not `.` or `..`, with no trailing slash; no query,
 * fragment, port, userinfo or percent-encoding; at most 2048 bytes. Throws a
 * {@link SpiffeIdError} naming the rule broken.
 *
 * @example
 * const { trustDomain, segments } = parseSpiffeId('spiffe://mesh.local/ns/prod/sa/billing')
 * // trustDomain 'mesh.local', segments ['ns', 'prod', 'sa', 'billing']
 */
export function parseSpiffeId(value: string): SpiffeId {
  if (typeof value !== 'string') throw new SpiffeIdError('not_a_string')
  if (Buffer.byteLength(value, 'utf8') > MAX_BYTES) throw new SpiffeIdError('too_long')
  if (!value.startsWith('spiffe://')) throw new SpiffeIdError('scheme')
  const rest = value.slice('spiffe://'.length)
  const hash = rest.indexOf('#')
  const question = rest.indexOf('?')
  if (question !== -1 && (hash === -1 || question < hash)) throw new SpiffeIdError('query')
  if (hash !== -1) throw new SpiffeIdError('fragment')
  const slash = rest.indexOf('/')
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash)
  const path = slash === -1 ? '' : rest.slice(slash)
  if (trustDomain.includes('@')) throw new SpiffeIdError('userinfo')
  if (trustDomain.includes(':')) throw new SpiffeIdError('port')
  if (trustDomain.length === 0) throw new SpiffeIdError('empty_trust_domain')
  if (trustDomain.length > MAX_TRUST_DOMAIN) throw new SpiffeIdError('trust_domain_too_long')
  if (!TRUST_DOMAIN.test(trustDomain)) throw new SpiffeIdError('trust_domain_characters')
  const segments = path === '' ? [] : path.slice(1).split('/')
  for (const [index, segment] of segments.entries()) {
    if (segment === '') {
      throw new SpiffeIdError(index === segments.length - 1 ? 'trailing_slash' : 'empty_segment')
    }
    if (segment === '.' || segment === '..') throw new SpiffeIdError('dot_segment')
    if (!SEGMENT.test(segment)) throw new SpiffeIdError('path_characters')
  }
  return Object.freeze({ id: value, trustDomain, path, segments: Object.freeze(segments) })
}

/** True when `name` is a valid SPIFFE trust domain name (`mesh.local`). Internal helper. */
export function isTrustDomainName(name: unknown): name is string {
  return (
    typeof name === 'string' && name.length > 0 && name.length <= MAX_TRUST_DOMAIN && TRUST_DOMAIN.test(name)
  )
}
