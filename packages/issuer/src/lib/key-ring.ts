import { type Clock, ConfigError } from '@callsign/core'
import { watchFiles } from '@callsign/core/adapter'
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
  let current: KeyDir
  try {
    current = await readKeyDir(dir)
  } catch (cause) {
    if (cause instanceof ConfigError)
      throw new ConfigError(`createIssuer: "keys": ${cause.message}`, { cause })
    throw cause
  }
  /** Keys that stopped signing while we watched: kid → public key and the end of its last token's life. */
  const retired = new Map<string, { readonly jwk: JWK; readonly until: number }>()
  let failures = 0
  let retryTimer: NodeJS.Timeout | undefined
  let closed = false

  const apply = (next: KeyDir) => {
    if (next.current.kid !== current.current.kid) {
      retired.set(current.current.kid, { jwk: current.current.publicJwk, until: clock.now() + retainMs })
    }
    retired.delete(next.current.kid)
    current = next
  }

  const load = async (): Promise<boolean> => {
    if (closed) return false
    try {
      apply(await readKeyDir(dir))
      failures = 0
      return true
    } catch (error) {
      failures++
      if (failures <= RETRIES) {
        retryTimer = setTimeout(() => void reload(), RETRY_MS)
        retryTimer.unref()
      } else {
        failures = 0
        options.onError(error instanceof Error ? error : new Error(String(error)))
      }
      return false
    }
  }
  let queue: Promise<boolean> = Promise.resolve(true)
  const reload = () => {
    queue = queue.then(load, load)
    return queue
  }
  const watcher = options.watch ? watchFiles(keyDirWatchFiles(dir), () => void reload()) : undefined

  return {
    signer: () => current.current,
    jwks() {
      const now = clock.now()
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
      watcher?.close()
      if (retryTimer) clearTimeout(retryTimer)
    },
  }
}
