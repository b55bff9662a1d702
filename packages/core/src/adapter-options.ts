import { writeFileSync } from 'node:fs'
import { ConfigError } from './auth-error.js'
import { createPipeline, type Pipeline, type PipelineOptions } from './create-pipeline.js'
import { warn } from './logger.js'

/**
 * What startup coverage found: routes without a policy entry, entries that match no route.
 *
 * @example
 * const onReport = (report: CoverageReport) => log.warn(report, 'policy coverage')
 */
export interface CoverageReport {
  readonly missing: readonly string[]
  readonly unused: readonly string[]
}

/**
 * Startup coverage settings.
 *
 * @example
 * const adopting: CoverageOptions = { reportOnly: true, onReport: (r) => log.warn(r, 'unmapped routes') }
 */
export interface CoverageOptions {
  /**
   * Adoption mode: routes without a policy entry are reported instead of stopping startup. They
   * are still refused at request time (403) unless the pipeline also runs in `dryRun`.
   */
  readonly reportOnly?: boolean
  /** Receives the coverage report when it is not empty. Default: a process warning. */
  readonly onReport?: (report: CoverageReport) => void
  /**
   * Writes the registered routes, as `{ "routes": ["GET /orders/:id", …] }`, to this file at
   * startup: the input of `callsign policy check <policy> --routes <file>`.
   */
  readonly routesFile?: string
}

/**
 * Pipeline options, or a ready pipeline, plus the adapter's own options.
 *
 * @example
 * const options: AdapterOptions = { policy, verifiers: [apiKeyVerifier({ store })], audit }
 */
export type AdapterOptions = (PipelineOptions | { readonly pipeline: Pipeline }) & CoverageOptions

export interface ResolvedAdapterOptions {
  readonly pipeline: Pipeline
  readonly reportOnly: boolean
  readonly onReport: (report: CoverageReport) => void
  readonly routesFile: string | undefined
}

/** Validates the options eagerly: every mistake is a ConfigError at startup. */
export function resolveAdapterOptions(options: AdapterOptions, where: string): ResolvedAdapterOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`${where}: options must be an object with "policy" and "verifiers", or "pipeline"`)
  }
  if (options.reportOnly !== undefined && typeof options.reportOnly !== 'boolean') {
    throw new ConfigError(`${where}: "reportOnly" must be a boolean`)
  }
  if (options.onReport !== undefined && typeof options.onReport !== 'function') {
    throw new ConfigError(`${where}: "onReport" must be a function`)
  }
  if (
    options.routesFile !== undefined &&
    (typeof options.routesFile !== 'string' || options.routesFile === '')
  ) {
    throw new ConfigError(`${where}: "routesFile" must be a file path`)
  }
  let pipeline: Pipeline
  if ('pipeline' in options && options.pipeline !== undefined) {
    if ('policy' in options || 'verifiers' in options) {
      throw new ConfigError(`${where}: pass either "pipeline" or "policy" and "verifiers", not both`)
    }
    if (typeof options.pipeline?.decide !== 'function' || typeof options.pipeline.policy !== 'function') {
      throw new ConfigError(`${where}: "pipeline" must come from createPipeline()`)
    }
    pipeline = options.pipeline
  } else {
    pipeline = createPipeline(options as PipelineOptions)
  }
  const onReport =
    options.onReport ??
    ((report: CoverageReport) => {
      const parts = []
      if (report.missing.length) parts.push(`routes without a policy entry: ${report.missing.join(', ')}`)
      if (report.unused.length) parts.push(`policy entries that match no route: ${report.unused.join(', ')}`)
      const logger = 'pipeline' in options ? undefined : (options as PipelineOptions).logger
      warn(logger, 'CALLSIGN_COVERAGE', `${where}: ${parts.join('; ')}`)
    })
  return { pipeline, reportOnly: options.reportOnly === true, onReport, routesFile: options.routesFile }
}

/**
 * Compares the registered routes with the policy (and dumps them to `routesFile`, if set). Missing
 * entries stop startup unless report-only was asked for; anything else goes to `onReport`.
 */
export function checkCoverage(
  resolved: ResolvedAdapterOptions,
  registered: Iterable<string>,
  where: string,
): void {
  const routes = [...new Set(registered)].sort()
  if (resolved.routesFile) writeFileSync(resolved.routesFile, `${JSON.stringify({ routes }, null, 2)}\n`)
  const { missing, unused } = resolved.pipeline.policy().coverage(routes)
  if (missing.length > 0 && !resolved.reportOnly) {
    throw new ConfigError(
      `${where}: routes without a policy entry: ${missing.join(', ')}. Add them to the policy (or 'public'), or pass reportOnly: true while adopting Callsign`,
    )
  }
  if (missing.length > 0 || unused.length > 0) resolved.onReport({ missing, unused })
}
