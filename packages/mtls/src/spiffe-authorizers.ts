import { ConfigError } from '@callsign/core'
import { isTrustDomainName, parseSpiffeId, type SpiffeId } from './parse-spiffe-id.js'

/** Decides whether a (valid, parsed) SPIFFE ID is the peer we accept. */
export type SpiffeAuthorizer = (id: SpiffeId) => boolean

/**
 * What the `authorize…` functions return: a {@link SpiffeAuthorizer} that also takes a caller id as
 * a string, so it can be the `to` of a policy grant (`definePolicy({ grants: [{ to, scopes }] })`).
 * A string that is not a SPIFFE ID is never accepted.
 */
export type SpiffeMatcher = (id: SpiffeId | string) => boolean

/** The parsed form of a caller id, or `undefined` when it is not a SPIFFE ID. */
function peerOf(id: SpiffeId | string): SpiffeId | undefined {
  if (typeof id !== 'string') return id
  try {
    return parseSpiffeId(id)
  } catch {
    return undefined
  }
}

function parseOption(value: string, what: string): SpiffeId {
  try {
    return parseSpiffeId(value)
  } catch (cause) {
    throw new ConfigError(`${what}: ${JSON.stringify(value)} is not a valid SPIFFE ID`, { cause })
  }
}

/**
 * Accepts exactly one SPIFFE ID. Like every `authorize…` function, usable as a policy grant's `to`.
 *
 * @example
 * const isBilling = authorizeId('spiffe://mesh.local/ns/prod/sa/billing')
 */
export function authorizeId(id: string): SpiffeMatcher {
  const wanted = parseOption(id, 'authorizeId').id
  return (peer) => peerOf(peer)?.id === wanted
}

/**
 * Accepts any of a list of SPIFFE IDs.
 *
 * @example
 * const callers = authorizeOneOf(['spiffe://mesh.local/billing', 'spiffe://mesh.local/shipping'])
 */
export function authorizeOneOf(ids: readonly string[]): SpiffeMatcher {
  if (!Array.isArray(ids) || ids.length === 0) throw new ConfigError('authorizeOneOf: list at least one ID')
  const wanted = new Set(ids.map((id) => parseOption(id, 'authorizeOneOf').id))
  return (peer) => {
    const id = peerOf(peer)?.id
    return id !== undefined && wanted.has(id)
  }
}

/**
 * Accepts every SPIFFE ID of one trust domain.
 *
 * @example
 * const anyoneInTheMesh = authorizeMemberOf('mesh.local')
 */
export function authorizeMemberOf(trustDomain: string): SpiffeMatcher {
  if (!isTrustDomainName(trustDomain)) {
    throw new ConfigError(`authorizeMemberOf: ${JSON.stringify(trustDomain)} is not a valid trust domain`)
  }
  return (peer) => peerOf(peer)?.trustDomain === trustDomain
}

/**
 * Accepts the SPIFFE IDs under a path prefix, compared on whole segments: the prefix
 * `spiffe://td/ns/app` accepts `spiffe://td/ns/app` and `spiffe://td/ns/app/worker`, never
 * `spiffe://td/ns/app-admin`.
 *
 * @example
 * const prodServices = authorizePathPrefix('spiffe://mesh.local/ns/prod')
 */
export function authorizePathPrefix(prefix: string): SpiffeMatcher {
  const wanted = parseOption(prefix, 'authorizePathPrefix')
  return (id) => {
    const peer = peerOf(id)
    return (
      peer !== undefined &&
      peer.trustDomain === wanted.trustDomain &&
      peer.segments.length >= wanted.segments.length &&
      wanted.segments.every((segment, index) => peer.segments[index] === segment)
    )
  }
}
