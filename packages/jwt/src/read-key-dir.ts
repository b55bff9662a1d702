import type { JWK } from 'jose'
import type { SigningKey } from './generate-signing-key.js'
import { jwksPath, readPrivateKey, readState, statePath } from './lib/key-dir-files.js'

/** A key directory as the issuer uses it. */
export interface KeyDir {
  /** The key that signs now. */
  readonly current: SigningKey
  /** A key published ahead of signing with it (after `rotateKeyDir(dir, { step: 'publish' })`). */
  readonly nextKid: string | null
  /** The key that signed before the last rotation, still published so its tokens verify. */
  readonly previousKid: string | null
  /** The public set to serve: current, next and previous public keys, never a private member. */
  readonly publicJwks: { readonly keys: readonly JWK[] }
}

/**
 * Reads a key directory: the current signing key and the public set to publish.
 *
 * Layout: `<dir>/state.json` names the `current`, `next` and `previous` kids; `<dir>/jwks.json` is
 * the public set; `<dir>/private/<kid>.json` holds each private JWK (mode 0600, refused otherwise).
 *
 * @example
 * const { current, publicJwks } = await readKeyDir('/etc/issuer/keys')
 * const token = await mintToken({ key: current, issuer, subject: 'billing', audience: 'orders', scopes: [], ttl: 300 })
 */
export async function readKeyDir(dir: string): Promise<KeyDir> {
  const state = await readState(dir)
  const current = await readPrivateKey(dir, state.current)
  const others = await Promise.all(
    [state.next, state.previous]
      .filter((kid): kid is string => kid !== null)
      .map((kid) => readPrivateKey(dir, kid)),
  )
  return Object.freeze({
    current,
    nextKid: state.next,
    previousKid: state.previous,
    publicJwks: Object.freeze({ keys: Object.freeze([current, ...others].map((key) => key.publicJwk)) }),
  })
}

/**
 * The files to watch for a change of a key directory: a rotation writes the public set, then
 * `state.json`, its commit point. Read the directory again ({@link readKeyDir}) when one changes.
 *
 * @example
 * const watcher = watchFiles(keyDirWatchFiles(dir), () => void reload())
 */
export function keyDirWatchFiles(dir: string): readonly string[] {
  return Object.freeze([statePath(dir), jwksPath(dir)])
}
