import { ConfigError } from './auth-error.js'
import { type Clock, systemClock } from './clock.js'
import type { HealthStatus } from './health.js'
import { type Logger, warn } from './logger.js'
import { reloadTelemetry } from './reload-telemetry.js'
import { type WatchFilesOptions, watchFiles } from './watch-files.js'

/**
 * Options of {@link reloadableFile} (with a `load` that answers at once) and
 * {@link openReloadableFile} (with one that returns a promise).
 */
export type ReloadableFileOptions<T> = ReloadableFileCommon<T> & {
  /**
   * Reads and checks the files. Throws a {@link ConfigError} when they are not usable (the last
   * good value stays); any other error is a bug and is thrown on, not kept quiet.
   */
  readonly load: () => T
}

/** The options both kinds share: what to watch, and how a reload is reported. */
export type ReloadableFileCommon<T> = {
  /** The files `load` reads: a change to any of them reloads. */
  readonly paths: readonly string[]
  /** Watch the files and reload on change (default true), or the watcher's options. */
  readonly watch?: boolean | WatchFilesOptions
  /** Called after a good reload, with the new value and the one it replaced. */
  readonly onReload?: (value: T, previous: T) => void
  /** The short error code of a failed reload, in `health()` and the metrics. Default `invalid_file`. */
  readonly errorCode?: string
  /** Report reloads as metrics: {@link reloadTelemetry} with this meter name and part. Default: none. */
  readonly telemetry?: { readonly meter: string; readonly part: string }
  /** Time source of `health()`. Default: the system clock. */
  readonly clock?: Clock
} & (
  | {
      /** Called once for each reload that failed; the last good value stays in use. */
      readonly onError: (error: ConfigError) => void
    }
  | {
      /** Called once for each reload that failed. Default: the `warning` below. */
      readonly onError?: (error: ConfigError) => void
      /** The default `onError`: `warn(logger, code, '<error message>; keeping <keeping>')`. */
      readonly warning: { readonly code: string; readonly keeping: string }
      readonly logger?: Logger
    }
)

/** What a reloadable file says of itself, for a part's `health()`. */
export interface ReloadableFileHealth {
  /** `degraded`: the last reload failed and the last good value is in use. */
  readonly status: HealthStatus
  /** ISO time of the last good load. */
  readonly loadedAt: string
  /** The last reload that failed, while no good one has followed it. */
  readonly lastReloadError: { readonly at: string; readonly error: string } | null
}

/** A value loaded from files, reloaded when they change, the last good one kept. */
export interface ReloadableFile<T, Reloaded = boolean> {
  /** The last good value. */
  current(): T
  /** Loads the files now; false (and the last good value kept) when they are not usable. */
  reload(): Reloaded
  health(): ReloadableFileHealth
  /** Stops watching; `reload()` still works. */
  close(): void
}

/**
 * Loads a value from files now, throwing what `load` throws (so bad files stop the service at
 * startup), then reloads it when the files change and on `reload()`. A reload that fails keeps the
 * last good value and is reported once: `onError`, or a warning through the logger hook; in
 * `health()`, and in the reload metrics when `telemetry` is given.
 *
 * @example
 * const policy = reloadableFile({
 *   paths: [path],
 *   load: () => loadPolicyFile(path),
 *   warning: { code: 'CALLSIGN_POLICY_RELOAD', keeping: 'the last good policy' },
 * })
 * policy.current()
 */
export function reloadableFile<T>(options: ReloadableFileOptions<T>): ReloadableFile<T> {
  const kept = lastGood(options.load(), options)
  const reload = (): boolean => {
    let next: T
    try {
      next = options.load()
    } catch (error) {
      return kept.failed(error)
    }
    return kept.loaded(next)
  }
  return { current: kept.current, reload, health: kept.health, close: watch(options, reload) }
}

/**
 * {@link reloadableFile} for a `load` that returns a promise (a key read with WebCrypto): loads
 * run one at a time, in the order asked for.
 *
 * @example
 * const keys = await openReloadableFile({ paths, load: () => readKeyDir(dir), onError })
 */
export async function openReloadableFile<T>(
  options: ReloadableFileCommon<T> & { readonly load: () => Promise<T> },
): Promise<ReloadableFile<T, Promise<boolean>>> {
  const kept = lastGood<T>(await options.load(), options)
  const load = async (): Promise<boolean> => {
    let next: T
    try {
      next = await options.load()
    } catch (error) {
      return kept.failed(error)
    }
    return kept.loaded(next)
  }
  let queue: Promise<boolean> = Promise.resolve(true)
  const reload = () => {
    queue = queue.then(load, load)
    return queue
  }
  return { current: kept.current, reload, health: kept.health, close: watch(options, reload) }
}

/** The last good value, when it was loaded, the last failure, and how each reload is reported. */
function lastGood<T>(first: T, options: ReloadableFileCommon<T>) {
  const clock = options.clock ?? systemClock
  const errorCode = options.errorCode ?? 'invalid_file'
  let current = first
  let loadedAt = clock.now()
  let failure: { readonly at: number; readonly error: string } | null = null
  const telemetry =
    options.telemetry && reloadTelemetry(options.telemetry.meter, options.telemetry.part, () => loadedAt)
  const onError =
    options.onError ??
    ('warning' in options
      ? (error: ConfigError) =>
          warn(options.logger, options.warning.code, `${error.message}; keeping ${options.warning.keeping}`)
      : () => {})
  return {
    current: () => current,
    loaded(next: T): true {
      const previous = current
      current = next
      loadedAt = clock.now()
      failure = null
      telemetry?.succeeded()
      options.onReload?.(next, previous)
      return true
    },
    failed(error: unknown): false {
      if (!(error instanceof ConfigError)) throw error
      failure = { at: clock.now(), error: errorCode }
      telemetry?.failed(errorCode)
      onError(error)
      return false
    },
    health: (): ReloadableFileHealth => ({
      status: failure ? 'degraded' : 'ok',
      loadedAt: new Date(loadedAt).toISOString(),
      lastReloadError: failure && { at: new Date(failure.at).toISOString(), error: failure.error },
    }),
  }
}

/** Watches the files as asked, calling `reload` on a change; answers the `close()` that stops it. */
function watch(
  options: { readonly paths: readonly string[]; readonly watch?: boolean | WatchFilesOptions },
  reload: () => unknown,
): () => void {
  if (options.watch === false) return () => {}
  const watcher = watchFiles(options.paths, () => void reload(), options.watch === true ? {} : options.watch)
  return () => watcher.close()
}
