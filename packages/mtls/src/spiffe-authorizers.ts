import { ConfigError } from '@callsign/core'
import { isTrustDomainName, parseSpiffeId, type SpiffeId } from './parse-spiffe-id.js'

/** Decides whether a (valid, parsed) SPIFFE ID is the peer we accept. */
export type SpiffeAuthorizer = (id: SpiffeId) => boolean

function parseOption(value: string, what: string): SpiffeId {
  try {
    return parseSpiffeId(value)
  } catch (cause) {
    throw new ConfigError(`${what}: ${JSON.stringify(value)} is not a valid SPIFFE ID`, { cause })
  }
}

/**
 * Accepts exactly one SPIFFE ID.
 *
 * @example
 * const isBilling = authorizeId('spiffe://mesh.local/ns/prod/sa/billing')
 */
export function authorizeId(id: string): SpiffeAuthorizer {
  const wanted = parseOption(id, 'authorizeId').id
  return (peer) => peer.id === wanted
}

/**
 * Accepts any of a list of SPIFFE IDs.
 *
 * @example
 * const callers = authorizeOneOf(['spiffe://mesh.local/billing', 'spiffe://mesh.local/shipping'])
 */
export function authorizeOneOf(ids: readonly string[]): SpiffeAuthorizer {
  if (!Array.isArray(ids) || ids.length === 0) throw new ConfigError('authorizeOneOf: list at least one ID')
  const wanted = new Set(ids.map((id) => parseOption(id, 'authorizeOneOf').id))
  return (peer) => wanted.has(peer.id)
}

/**
 * Accepts every SPIFFE ID of one trust domain.
 *
 * @example
 * const anyoneInTheMesh = authorizeMemberOf('mesh.local')
 */
export function authorizeMemberOf(trustDomain: string): SpiffeAuthorizer {
  if (!isTrustDomainName(trustDomain)) {
    throw new ConfigError(`authorizeMemberOf: ${JSON.stringify(trustDomain)} is not a valid trust domain`)
  }
  return (peer) => peer.trustDomain === trustDomain
}

/**
 * Accepts the SPIFFE IDs under a path prefix, compared on whole segments: the prefix
 * `spiffe://td/ns/app` accepts `spiffe://td/ns/app` and `spiffe://td/ns/app/worker`, never
 * `spiffe://td/ns/app-admin`.
 *
 * @example
 * const prodServices = authorizePathPrefix('spiffe://mesh.local/ns/prod')
 */
export function authorizePathPrefix(prefix: string): SpiffeAuthorizer {
  const wanted = parseOption(prefix, 'authorizePathPrefix')
  return (peer) =>
    peer.trustDomain === wanted.trustDomain &&
    peer.segments.length >= wanted.segments.length &&
    wanted.segments.every((segment, index) => peer.segments[index] === segment)
}
