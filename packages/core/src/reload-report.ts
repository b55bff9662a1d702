import { ConfigError } from './auth-error.js'
import { type Clock, systemClock } from './clock.js'
import type { HealthStatus } from './health.js'
import { type Logger, warn } from './logger.js'
import { reloadTelemetry } from './reload-telemetry.js'

/** How a failed reload is told: `onError`, or by default a warning through the logger hook. */
export type ReloadErrorReporting =
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

/** Options of {@link reloadReport}. */
export type ReloadReportOptions = {
  /** The short error code of a failed reload, in `health()` and the metrics. Default `invalid_file`. */
  readonly errorCode?: string
  /**
   * Report reloads as metrics: {@link reloadTelemetry} with this meter name and part, labelled by
   * `file` (only its folder and name reach the metrics). Default: none.
   */
  readonly telemetry?: { readonly meter: string; readonly part: string; readonly file: string }
  /** Time source of `health()`. Default: the system clock. */
  readonly clock?: Clock
} & ReloadErrorReporting

/** What a reloaded part says of itself, for its `health()`. */
export interface ReloadableFileHealth {
  /** `degraded`: the last reload failed and the last good value is in use. */
  readonly status: HealthStatus
  /** ISO time of the last good load. */
  readonly loadedAt: string
  /** The last reload that failed, while no good one has followed it. */
  readonly lastReloadError: { readonly at: string; readonly error: string } | null
}

/** How a part that reloads from files reports each reload. */
export interface ReloadReport {
  /** A good reload: clears the failure, counts a success, moves `loadedAt` to now. */
  succeeded(): void
  /**
   * A reload that failed with a {@link ConfigError} (the last good value stays): reported once,
   * through `onError` or the warning, in `health()` and in the metrics. Any other error is a bug and
   * is thrown on, not reported as a bad file.
   */
  failed(error: unknown): false
  health(): ReloadableFileHealth
}

/**
 * The reporting of a part that reloads from files and keeps the last good value: when it last
 * loaded, the last failure, the warning (or `onError`) and the reload metrics. Take it just after
 * the first good load: that is its `loadedAt`. {@link reloadableFile} is built on it; a part whose
 * loads do not fit `reloadableFile` (the file key store) reports through it the same way.
 *
 * @example
 * const report = reloadReport({
 *   warning: { code: 'CALLSIGN_PARTNERS_RELOAD', keeping: 'the last good partners' },
 *   logger: options.logger,
 *   telemetry: { meter: '@acme/partner-verifier', part: 'partners', file: path },
 * })
 * try {
 *   partners = readPartners(path)
 *   report.succeeded()
 * } catch (error) {
 *   report.failed(error)
 * }
 */
export function reloadReport(options: ReloadReportOptions): ReloadReport {
  const clock = options.clock ?? systemClock
  const errorCode = options.errorCode ?? 'invalid_file'
  let loadedAt = clock.now()
  let failure: { readonly at: number; readonly error: string } | null = null
  const { telemetry: metered } = options
  const telemetry = metered && reloadTelemetry(metered.meter, metered.part, () => loadedAt, metered.file)
  const onError =
    options.onError ??
    ('warning' in options
      ? (error: ConfigError) =>
          warn(options.logger, options.warning.code, `${error.message}; keeping ${options.warning.keeping}`)
      : () => {})
  return {
    succeeded() {
      loadedAt = clock.now()
      failure = null
      telemetry?.succeeded()
    },
    failed(error: unknown): false {
      if (!(error instanceof ConfigError)) throw error
      failure = { at: clock.now(), error: errorCode }
      telemetry?.failed(errorCode)
      onError(error)
      return false
    },
    health: () => ({
      status: failure ? 'degraded' : 'ok',
      loadedAt: new Date(loadedAt).toISOString(),
      lastReloadError: failure && { at: new Date(failure.at).toISOString(), error: failure.error },
    }),
  }
}
