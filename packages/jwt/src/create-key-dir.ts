import { mkdir, stat } from 'node:fs/promises'
import { ConfigError } from '@callsign/core'
import { generateSigningKey, type SigningAlgorithm } from './generate-signing-key.js'
import { statePath, writePrivateKey, writeState } from './lib/key-dir-files.js'
import { type KeyDir, readKeyDir } from './read-key-dir.js'

/**
 * Creates a key directory with one new signing key (see {@link readKeyDir} for the layout). Refuses
 * a directory that already holds a key set: rotate it instead.
 *
 * @example
 * const { current } = await createKeyDir('./keys', { alg: 'ES256' })
 */
export async function createKeyDir(
  dir: string,
  options: { readonly alg?: SigningAlgorithm } = {},
): Promise<KeyDir> {
  const exists = await stat(statePath(dir)).then(
    () => true,
    () => false,
  )
  if (exists) throw new ConfigError(`${dir} already holds a key set: rotate it instead`)
  const key = await generateSigningKey(options)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writePrivateKey(dir, key)
  await writeState(dir, { version: 1, current: key.kid, next: null, previous: null }, [key])
  return readKeyDir(dir)
}
