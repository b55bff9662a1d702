import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { ConfigError } from '@callsign/core'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'

/** The algorithms a signing key can be generated for. */
export type SigningAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'RS256' | 'PS256'

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'RS256',
  'PS256',
]

/** A private signing key with its public half in JWK form. */
export interface SigningKey {
  /** The RFC 7638 thumbprint of the public key. */
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly privateKey: KeyObject
  /** The public key as published: `kty`, curve or modulus, `kid`, `alg`, `use: 'sig'`. Never private members. */
  readonly publicJwk: JWK
}

/**
 * Generates a signing key pair; the kid is the RFC 7638 thumbprint of its public key.
 *
 * @example
 * const key = await generateSigningKey({ alg: 'ES256' })
 * const token = await mintToken({ key, issuer, subject: 'billing', audience: 'orders', scopes: ['orders:read'], ttl: 300 })
 */
export async function generateSigningKey(
  options: { readonly alg?: SigningAlgorithm } = {},
): Promise<SigningKey> {
  const alg = options.alg ?? 'ES256'
  if (!SIGNING_ALGORITHMS.includes(alg)) {
    throw new ConfigError(`generateSigningKey: "alg" must be one of ${SIGNING_ALGORITHMS.join(', ')}`)
  }
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}),
  })
  return signingKeyFromJwk(await exportJWK(privateKey), alg)
}

/** Rebuilds a {@link SigningKey} from a private JWK (as stored in a key dir). */
export async function signingKeyFromJwk(privateJwk: JWK, alg: SigningAlgorithm): Promise<SigningKey> {
  const privateKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' })
  const exported = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  const publicMembers: JWK = { kty: exported.kty }
  for (const member of ['crv', 'x', 'y', 'n', 'e'] as const) {
    if (exported[member] !== undefined) publicMembers[member] = exported[member]
  }
  const kid = await calculateJwkThumbprint(publicMembers, 'sha256')
  return Object.freeze({
    kid,
    alg,
    privateKey,
    publicJwk: Object.freeze({ ...publicMembers, kid, alg, use: 'sig' }),
  })
}
