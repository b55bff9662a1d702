import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { algorithmsForKey, isHmacAlgorithm, isKnownAlgorithm } from './algorithms.js'

/** One verification key, imported once. `retired` is set when it leaves its key set. */
export interface KeyRecord {
  readonly kid: string | undefined
  readonly key: KeyObject
  readonly algorithms: ReadonlySet<string>
  /** The key's identity: kid, alg and public material. Equal fingerprints are the same key. */
  readonly fingerprint: string
  retired: boolean
}

/** An immutable set of keys with a `kid` index that has no prototype path. */
export class KeySet {
  readonly records: readonly KeyRecord[]
  private readonly byKid = new Map<string, KeyRecord[]>()

  constructor(records: readonly KeyRecord[]) {
    this.records = records
    for (const record of records) {
      if (record.kid === undefined) continue
      const list = this.byKid.get(record.kid)
      if (list) list.push(record)
      else this.byKid.set(record.kid, [record])
    }
  }

  /** The key for a token's `kid` and `alg`; `'mismatch'` when the kid exists but not for that alg. */
  find(kid: string | undefined, alg: string): KeyRecord | 'mismatch' | undefined {
    if (kid === undefined) {
      const candidates = this.records.filter((record) => record.algorithms.has(alg))
      return candidates.length === 1 ? candidates[0] : undefined
    }
    const list = this.byKid.get(kid)
    if (list) return list.find((record) => record.algorithms.has(alg)) ?? 'mismatch'
    // A key configured without a kid stands for any kid, when it is the only candidate.
    const unnamed = this.records.filter((record) => record.kid === undefined && record.algorithms.has(alg))
    return unnamed.length === 1 ? unnamed[0] : undefined
  }
}

const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
  RSA: ['n', 'e'],
}

/**
 * Imports one public JWK for verification, or returns null when it is unusable here (another
 * `use`, an unknown key type or algorithm, a weak key). Only public members are read: a private
 * member published by mistake is never imported.
 */
export function importPublicJwk(jwk: unknown, allowed: ReadonlySet<string>): KeyRecord | null {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return null
  const input = jwk as Record<string, unknown>
  const kty = input.kty
  if (typeof kty !== 'string' || !Object.hasOwn(PUBLIC_MEMBERS, kty)) return null
  if (input.use !== undefined && input.use !== 'sig') return null
  if (input.key_ops !== undefined && !(Array.isArray(input.key_ops) && input.key_ops.includes('verify'))) {
    return null
  }
  const kid = input.kid
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) return null
  const alg = input.alg
  if (alg !== undefined && (typeof alg !== 'string' || !isKnownAlgorithm(alg) || isHmacAlgorithm(alg))) {
    return null
  }
  const members = PUBLIC_MEMBERS[kty] as readonly string[]
  const publicJwk: Record<string, string> = { kty }
  for (const member of members) {
    const value = input[member]
    if (typeof value !== 'string' || value.length === 0) return null
    publicJwk[member] = value
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: publicJwk, format: 'jwk' })
  } catch {
    return null
  }
  const fingerprint = JSON.stringify([kid ?? null, alg ?? null, ...members.map((m) => publicJwk[m])])
  return record(key, kid, alg, allowed, fingerprint)
}

/** Imports a configured key: a public or private KeyObject (its public half is used) or a JWK. */
export function importConfiguredKey(value: unknown, allowed: ReadonlySet<string>): KeyRecord | null {
  if (isKeyObject(value)) {
    const key = value.type === 'private' ? createPublicKey(value) : value
    if (key.type !== 'public') return null
    const jwk = key.export({ format: 'jwk' })
    return record(key, undefined, undefined, allowed, JSON.stringify(jwk))
  }
  return importPublicJwk(value, allowed)
}

/** Imports a shared HMAC secret. */
export function importSecret(value: unknown, allowed: ReadonlySet<string>): KeyRecord | null {
  let key: KeyObject
  if (isKeyObject(value)) key = value
  else if (value instanceof Uint8Array) key = createSecretKey(Buffer.from(value))
  else return null
  if (key.type !== 'secret') return null
  return record(key, undefined, undefined, allowed, 'secret')
}

function record(
  key: KeyObject,
  kid: string | undefined,
  alg: string | undefined,
  allowed: ReadonlySet<string>,
  fingerprint: string,
): KeyRecord | null {
  const algorithms = new Set(
    algorithmsForKey(key).filter(
      (candidate) => allowed.has(candidate) && (alg === undefined || candidate === alg),
    ),
  )
  if (algorithms.size === 0) return null
  return { kid, key, algorithms, fingerprint, retired: false }
}

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    'type' in value &&
    'export' in value &&
    typeof (value as KeyObject).export === 'function' &&
    typeof (value as KeyObject).equals === 'function'
  )
}
