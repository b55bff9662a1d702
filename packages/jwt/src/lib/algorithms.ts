import { constants, createHmac, type KeyObject, timingSafeEqual, verify } from 'node:crypto'

interface AlgorithmSpec {
  readonly family: 'ec' | 'okp' | 'rsa' | 'pss' | 'hmac'
  readonly hash: string | null
  /** ECDSA: the curve's OpenSSL name and the IEEE P1363 signature length. */
  readonly curve?: string
  readonly signatureLength?: number
  /** HMAC: the minimum secret length in bytes (the hash size, RFC 7518 §3.2). */
  readonly minSecretBytes?: number
}

const SPECS = new Map<string, AlgorithmSpec>([
  ['ES256', { family: 'ec', hash: 'sha256', curve: 'prime256v1', signatureLength: 64 }],
  ['ES384', { family: 'ec', hash: 'sha384', curve: 'secp384r1', signatureLength: 96 }],
  ['ES512', { family: 'ec', hash: 'sha512', curve: 'secp521r1', signatureLength: 132 }],
  ['EdDSA', { family: 'okp', hash: null, signatureLength: 64 }],
  ['Ed25519', { family: 'okp', hash: null, signatureLength: 64 }],
  ['RS256', { family: 'rsa', hash: 'sha256' }],
  ['RS384', { family: 'rsa', hash: 'sha384' }],
  ['RS512', { family: 'rsa', hash: 'sha512' }],
  ['PS256', { family: 'pss', hash: 'sha256' }],
  ['PS384', { family: 'pss', hash: 'sha384' }],
  ['PS512', { family: 'pss', hash: 'sha512' }],
  ['HS256', { family: 'hmac', hash: 'sha256', minSecretBytes: 32 }],
  ['HS384', { family: 'hmac', hash: 'sha384', minSecretBytes: 48 }],
  ['HS512', { family: 'hmac', hash: 'sha512', minSecretBytes: 64 }],
])

/** The asymmetric algorithms accepted by default. */
export const DEFAULT_ALGORITHMS: readonly string[] = ['ES256', 'EdDSA', 'RS256', 'PS256']
/** The HMAC algorithm accepted by default in shared-secret mode. */
export const DEFAULT_HMAC_ALGORITHMS: readonly string[] = ['HS256']

const MIN_RSA_BITS = 2048

export function isKnownAlgorithm(alg: string): boolean {
  return SPECS.has(alg)
}

export function isHmacAlgorithm(alg: string): boolean {
  return SPECS.get(alg)?.family === 'hmac'
}

/** The algorithms a key can verify: by key type, curve, RSA size or secret length. */
export function algorithmsForKey(key: KeyObject): string[] {
  const out: string[] = []
  for (const [alg, spec] of SPECS) if (fits(spec, key)) out.push(alg)
  return out
}

function fits(spec: AlgorithmSpec, key: KeyObject): boolean {
  if (spec.family === 'hmac') {
    return key.type === 'secret' && (key.symmetricKeySize ?? 0) >= (spec.minSecretBytes ?? 0)
  }
  if (key.type !== 'public') return false
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails ?? {}
  switch (spec.family) {
    case 'ec':
      return type === 'ec' && details.namedCurve === spec.curve
    case 'okp':
      return type === 'ed25519'
    case 'rsa':
      return type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS
    case 'pss':
      return (type === 'rsa' || type === 'rsa-pss') && (details.modulusLength ?? 0) >= MIN_RSA_BITS
  }
}

/**
 * Checks a JWS signature with node:crypto. The caller has already matched `alg` to the key with
 * {@link algorithmsForKey}; this never throws, a bad or odd signature is simply false.
 */
export function verifySignature(alg: string, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const spec = SPECS.get(alg)
  if (!spec || signature.length === 0) return false
  if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) return false
  try {
    switch (spec.family) {
      case 'ec':
        return verify(spec.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      case 'okp':
        return verify(null, data, key, signature)
      case 'rsa':
        return verify(spec.hash, data, key, signature)
      case 'pss':
        return verify(
          spec.hash,
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        )
      case 'hmac': {
        const mac = createHmac(spec.hash as string, key)
          .update(data)
          .digest()
        return mac.length === signature.length && timingSafeEqual(mac, signature)
      }
    }
  } catch {
    return false
  }
}
