import type { X509Certificate } from 'node:crypto'
import { keyUsageBits } from './certificate-facts.js'

const KEY_CERT_SIGN = 5
const CRL_SIGN = 6
const CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1'])
const MIN_RSA_BITS = 2048

/** The audit reasons of the leaf rules. */
export type LeafRule = 'leaf_key_cert_sign' | 'leaf_crl_sign' | 'weak_key'

/**
 * The first X509-SVID leaf rule (§4.3) or key-strength rule the leaf breaks: keyUsage keyCertSign
 * or cRLSign on a leaf, an RSA key under 2048 bits, an EC key on a curve other than P-256, P-384
 * or P-521 (Ed25519 and Ed448 pass). `undefined` when it breaks none.
 */
export function leafRuleBroken(leaf: X509Certificate): LeafRule | undefined {
  const usage = keyUsageBits(leaf.raw)
  if (usage.has(KEY_CERT_SIGN)) return 'leaf_key_cert_sign'
  if (usage.has(CRL_SIGN)) return 'leaf_crl_sign'
  const key = leaf.publicKey
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return (details.modulusLength ?? 0) < MIN_RSA_BITS ? 'weak_key' : undefined
    case 'ec':
      return CURVES.has(details.namedCurve ?? '') ? undefined : 'weak_key'
    case 'ed25519':
    case 'ed448':
      return undefined
    default:
      return 'weak_key'
  }
}
