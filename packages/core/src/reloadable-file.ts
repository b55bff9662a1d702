import {
  type ReloadableFileHealth,
  type ReloadErrorReporting,
  type ReloadReportOptions,
  reloadReport,
} from './reload-report.js'
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

/** The options both kinds share: what to watch, and how a reload is reported ({@link reloadReport}). */
export type ReloadableFileCommon<T> = {
  /** The files `load` reads: a change to any of them reloads. */
  readonly paths: readonly string[]
  /** Watch the files and reload on change (default true), or the watcher's options. */
  readonly watch?: boolean | WatchFilesOptions
  /** Called after a good reload, with the new value and the one it replaced. */
  readonly onReload?: (value: T, previous: T) => void
  /**
   * Report reloads as metrics: {@link reloadTelemetry} with this meter name and part, labelled by
   * `file` (its folder and name; default: the first of `paths`). Default: none.
   */
  readonly telemetry?: { readonly meter: string; readonly part: string; readonly file?: string }
} & Pick<ReloadReportOptions, 'errorCode' | 'clock'> &
  ReloadErrorReporting

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

/** The last good value, and the report of each reload. */
function lastGood<T>(first: T, options: ReloadableFileCommon<T>) {
  const { telemetry } = options
  const report = reloadReport({
    ...options,
    telemetry: telemetry && { ...telemetry, file: telemetry.file ?? options.paths[0] ?? '' },
  })
  let current = first
  return {
    current: () => current,
    loaded(next: T): true {
      const previous = current
      current = next
      report.succeeded()
      options.onReload?.(next, previous)
      return true
    },
    failed: report.failed,
    health: report.health,
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
