import { mkdir, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '@callsign/core'
import { writeFileAtomic } from '@callsign/core/adapter'
import type { JWK } from 'jose'
import {
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  type SigningKey,
  signingKeyFromJwk,
} from '../generate-signing-key.js'

/** `state.json`: which key signs, which is published ahead, which is kept for verification. */
export interface KeyDirState {
  readonly version: 1
  readonly current: string
  readonly next: string | null
  readonly previous: string | null
}

const KID = /^[A-Za-z0-9_-]{43}$/

export const jwksPath = (dir: string) => join(dir, 'jwks.json')
export const statePath = (dir: string) => join(dir, 'state.json')
export const privateDir = (dir: string) => join(dir, 'private')
export const privatePath = (dir: string, kid: string) => join(privateDir(dir), `${kid}.json`)

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export async function readState(dir: string): Promise<KeyDirState> {
  let text: string
  try {
    text = await readFile(statePath(dir), 'utf8')
  } catch (cause) {
    // A library's message names no command: the CLI adds how to make a key directory.
    throw new ConfigError(`${dir} is not a key directory (no state.json)`, { cause })
  }
  let state: Partial<KeyDirState>
  try {
    state = JSON.parse(text) as Partial<KeyDirState>
  } catch (cause) {
    throw new ConfigError(`${statePath(dir)} is not valid JSON`, { cause })
  }
  const kidOrNull = (value: unknown) =>
    value === null || value === undefined || (typeof value === 'string' && KID.test(value))
  if (
    state?.version !== 1 ||
    typeof state.current !== 'string' ||
    !KID.test(state.current) ||
    !kidOrNull(state.next) ||
    !kidOrNull(state.previous)
  ) {
    throw new ConfigError(`${statePath(dir)} is not a valid key directory state`)
  }
  return { version: 1, current: state.current, next: state.next ?? null, previous: state.previous ?? null }
}

/** Reads one private key file; refuses a file that others can read. */
export async function readPrivateKey(dir: string, kid: string): Promise<SigningKey> {
  const path = privatePath(dir, kid)
  let text: string
  try {
    if (process.platform !== 'win32' && ((await stat(path)).mode & 0o077) !== 0) {
      throw new ConfigError(`${path} is readable by group or others: run chmod 600 on it`)
    }
    text = await readFile(path, 'utf8')
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause
    throw new ConfigError(`cannot read the private key file ${path}`, { cause })
  }
  let jwk: JWK
  try {
    jwk = JSON.parse(text) as JWK
  } catch (cause) {
    throw new ConfigError(`${path} is not valid JSON`, { cause })
  }
  if (!SIGNING_ALGORITHMS.includes(jwk.alg as SigningAlgorithm)) {
    throw new ConfigError(`${path} names no supported "alg"`)
  }
  let key: SigningKey
  try {
    key = await signingKeyFromJwk(jwk, jwk.alg as SigningAlgorithm)
  } catch (cause) {
    throw new ConfigError(`${path} does not hold a valid private key`, { cause })
  }
  if (key.kid !== kid) throw new ConfigError(`${path} holds a key whose thumbprint is not its kid`)
  return key
}

export async function writePrivateKey(dir: string, key: SigningKey): Promise<void> {
  await mkdir(privateDir(dir), { recursive: true, mode: 0o700 })
  const jwk = { ...(key.privateKey.export({ format: 'jwk' }) as JWK), kid: key.kid, alg: key.alg, use: 'sig' }
  await writeFileAtomic(privatePath(dir, key.kid), `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600 })
}

/** Writes the public set (current, next, previous) and then the state, the commit point. */
export async function writeState(
  dir: string,
  state: KeyDirState,
  keys: readonly SigningKey[],
): Promise<void> {
  const publicJwks = { keys: keys.map((key) => key.publicJwk) }
  await writeFileAtomic(jwksPath(dir), `${JSON.stringify(publicJwks, null, 2)}\n`, { mode: 0o644 })
  await writeFileAtomic(statePath(dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 })
}

export async function removePrivateKey(dir: string, kid: string): Promise<void> {
  await unlink(privatePath(dir, kid)).catch(() => {})
}
