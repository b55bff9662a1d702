import type { X509Certificate } from 'node:crypto'
import { chainPath } from './chain-path.js'
import { normalSerial } from './crl.js'
import type { Anchor } from './load-trust.js'

/**
 * The trust of one moment: the CAs with the trust domain each is bound to, and what they revoked.
 * `generation` changes whenever any of it does, so a verdict can be remembered per connection and
 * trust generation.
 */
export interface TrustState {
  readonly generation: number
  readonly anchors: readonly Anchor[]
  /** CA `fingerprint256` → revoked serials (normalized). */
  readonly revoked: ReadonlyMap<string, ReadonlySet<string>>
}

/** Where a verifier or a server gets the trust from: a fixed state, or one that follows reloads. */
export interface TrustSource {
  current(): TrustState
  /** The trust domains bound by name; `undefined` for the one implicit binding (one CA). */
  readonly trustDomains: readonly string[] | undefined
}

export type TrustRefusal = 'unknown_ca' | 'trust_domain_ca_mismatch' | 'revoked'

/**
 * Why `state` refuses the chain (`undefined`: it accepts it). With a trust domain, the leaf must
 * chain to a CA bound to that trust domain (or to the implicit binding); without one, to any CA.
 * No certificate of the path may be on its issuer's revocation list.
 */
export function refusal(
  state: TrustState,
  leaf: X509Certificate,
  chain: readonly Uint8Array[],
  trustDomain: string | undefined,
): TrustRefusal | undefined {
  const all = state.anchors.map((anchor) => anchor.certificate)
  const bound =
    trustDomain === undefined
      ? all
      : state.anchors
          .filter((anchor) => anchor.trustDomain === undefined || anchor.trustDomain === trustDomain)
          .map((anchor) => anchor.certificate)
  const path = chainPath(leaf, chain, bound)
  if (!path) return chainPath(leaf, chain, all) ? 'trust_domain_ca_mismatch' : 'unknown_ca'
  for (let i = 0; i + 1 < path.length; i++) {
    const revoked = state.revoked.get(path[i + 1]!.fingerprint256)
    if (revoked?.has(normalSerial(path[i]!.serialNumber))) return 'revoked'
  }
  return undefined
}
