import { readFile } from 'node:fs/promises'
import { ConfigError } from '@callsign/core'
import type { JWK } from 'jose'
import { jwksPath } from './lib/key-dir-files.js'

/**
 * The public key set a key directory publishes, read without touching a private key: for a
 * verifier, or a tool that checks tokens, next to the directory (see {@link readKeyDir} for the
 * layout). Throws a `ConfigError` when the directory has no public set, or one with a private member.
 *
 * @example
 * const verifier = jwtVerifier({ issuer, audience: 'orders', keys: await readKeyDirJwks('/etc/issuer/keys') })
 */
export async function readKeyDirJwks(dir: string): Promise<{ readonly keys: readonly JWK[] }> {
  const path = jwksPath(dir)
  let set: unknown
  try {
    set = JSON.parse(await readFile(path, 'utf8'))
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`${dir} is not a key directory (no jwks.json)`, { cause })
    }
    throw new ConfigError(`cannot read the public key set ${path}`, { cause })
  }
  const keys = (set as { keys?: unknown } | null)?.keys
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    keys.some((key) => typeof key !== 'object' || key === null || 'd' in key || 'k' in key)
  ) {
    throw new ConfigError(`${path} is not a public key set`)
  }
  return Object.freeze({ keys: Object.freeze(keys as JWK[]) })
}
