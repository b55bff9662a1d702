import { type Clock, ConfigError } from '@callsign/core'
import { openReloadableFile, type ReloadableFile } from '@callsign/core/adapter'
import { type KeyDir, keyDirWatchFiles, readKeyDir, type SigningKey } from '@callsign/jwt'
import type { JWK } from 'jose'

export interface KeyRingOptions {
  readonly clock: Clock
  /** How long a key that stopped signing stays published: the longest token lifetime plus leeway. */
  readonly retainMs: number
  /** A changed key directory that cannot be read after the retries; the last good keys stay. */
  readonly onError: (error: Error) => void
  /** Watch the directory. */
  readonly watch: boolean
}

export interface KeyRing {
  /** The key that signs now. */
  signer(): SigningKey
  /** The public set to serve: current, next, and every key whose tokens may still be alive. */
  jwks(): { readonly keys: readonly JWK[] }
  /** Re-reads the directory; false (last good keys kept) when it cannot be read. */
  reload(): Promise<boolean>
  close(): void
}

/** A failed reload is retried this often, this many times, before it is reported: a rotation writes several files. */
const RETRY_MS = 250
const RETRIES = 4

/**
 * The issuer's view of a key directory (its layout is `@callsign/jwt`'s), reloaded when a rotation
 * changes it. It remembers every key that stopped signing while it watched,
 * and keeps publishing it until `retainMs` after that moment, even once the directory has dropped it.
 */
export async function openKeyRing(dir: string, options: KeyRingOptions): Promise<KeyRing> {
  const { clock, retainMs } = options
  /** Keys that stopped signing while we watched: kid → public key and the end of its last token's life. */
  const retired = new Map<string, { readonly jwk: JWK; readonly until: number }>()
  let failures = 0
  let retryTimer: NodeJS.Timeout | undefined
  let closed = false
  const reload = () => (closed ? Promise.resolve(false) : keyDir.reload())

  let keyDir: ReloadableFile<KeyDir, Promise<boolean>>
  try {
    keyDir = await openReloadableFile({
      paths: keyDirWatchFiles(dir),
      load: () => readKeys(dir),
      watch: options.watch,
      onReload(next, previous) {
        failures = 0
        if (next.current.kid !== previous.current.kid) {
          retired.set(previous.current.kid, {
            jwk: previous.current.publicJwk,
            until: clock.now() + retainMs,
          })
        }
        retired.delete(next.current.kid)
      },
      onError(error) {
        failures++
        if (failures > RETRIES) {
          failures = 0
          options.onError(error)
        } else if (!closed) {
          retryTimer = setTimeout(() => void reload(), RETRY_MS)
          retryTimer.unref()
        }
      },
    })
  } catch (cause) {
    if (cause instanceof ConfigError)
      throw new ConfigError(`createIssuer: "keys": ${cause.message}`, { cause })
    throw cause
  }
  return {
    signer: () => keyDir.current().current,
    jwks() {
      const now = clock.now()
      const current = keyDir.current()
      const byKid = new Map(current.publicJwks.keys.map((jwk) => [jwk.kid, jwk]))
      const keys: JWK[] = [current.current.publicJwk]
      const add = (jwk: JWK | undefined) => {
        if (jwk && !keys.some((key) => key.kid === jwk.kid)) keys.push(jwk)
      }
      if (current.nextKid !== null) add(byKid.get(current.nextKid))
      // A key we saw stop signing: published until its last token has expired. The directory's
      // previous key when we did not see its promotion (it happened before we started): published
      // as long as the directory keeps it.
      const previous = current.previousKid
      if (previous !== null && !retired.has(previous)) add(byKid.get(previous))
      for (const [kid, entry] of retired) {
        if (entry.until > now) add(entry.jwk)
        else if (kid !== previous) retired.delete(kid)
      }
      return { keys }
    },
    reload,
    close() {
      closed = true
      keyDir.close()
      if (retryTimer) clearTimeout(retryTimer)
    },
  }
}

/** Every error of a reload counts as a bad directory, not a bug: a rotation may be half written. */
async function readKeys(dir: string): Promise<KeyDir> {
  try {
    return await readKeyDir(dir)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error })
  }
}
