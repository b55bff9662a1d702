import { ConfigError } from '@callsign/core'
import { generateSigningKey, type SigningAlgorithm, type SigningKey } from './generate-signing-key.js'
import {
  type KeyDirState,
  readPrivateKey,
  readState,
  removePrivateKey,
  writePrivateKey,
  writeState,
} from './lib/key-dir-files.js'
import { type KeyDir, readKeyDir } from './read-key-dir.js'

export interface RotateKeyDirOptions {
  /**
   * - `'rotate'` (default): promote the published next key, or a new one, to current.
   * - `'publish'`: publish a new next key without signing with it, so verifiers can fetch it first.
   * - `'promote'`: start signing with the published next key.
   *
   * On promotion the old current key becomes previous (still published) and the old previous key
   * is removed, private file included.
   */
  readonly step?: 'rotate' | 'publish' | 'promote'
  /** Algorithm of a new key. Default: the current key's. */
  readonly alg?: SigningAlgorithm
}

/**
 * Rotates the signing key of a key directory (see {@link readKeyDir} for the layout).
 *
 * @example
 * await rotateKeyDir('./keys', { step: 'publish' }) // day 1: verifiers learn the next key
 * await rotateKeyDir('./keys', { step: 'promote' }) // day 2: sign with it
 */
export async function rotateKeyDir(dir: string, options: RotateKeyDirOptions = {}): Promise<KeyDir> {
  const step = options.step ?? 'rotate'
  if (!['rotate', 'publish', 'promote'].includes(step)) {
    throw new ConfigError('rotateKeyDir: "step" must be rotate, publish or promote')
  }
  const state = await readState(dir)
  const current = await readPrivateKey(dir, state.current)
  const previous = state.previous === null ? undefined : await readPrivateKey(dir, state.previous)
  let next = state.next === null ? undefined : await readPrivateKey(dir, state.next)

  if (step === 'publish') {
    if (next) throw new ConfigError(`${dir} already publishes a next key: promote it first`)
    next = await generateSigningKey({ alg: options.alg ?? current.alg })
    await writePrivateKey(dir, next)
    const published: KeyDirState = { ...state, next: next.kid }
    await writeState(dir, published, [current, next, ...(previous ? [previous] : [])])
    return readKeyDir(dir)
  }
  if (step === 'promote' && !next) throw new ConfigError(`${dir} publishes no next key: publish one first`)
  if (!next) {
    next = await generateSigningKey({ alg: options.alg ?? current.alg })
    await writePrivateKey(dir, next)
  }
  const promoted: KeyDirState = { version: 1, current: next.kid, next: null, previous: current.kid }
  await writeState(dir, promoted, [next, current] as SigningKey[])
  if (previous && previous.kid !== current.kid) await removePrivateKey(dir, previous.kid)
  return readKeyDir(dir)
}
