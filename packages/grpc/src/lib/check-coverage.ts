import { ConfigError } from '@callsign/core'
import type { ResolvedOptions } from './resolve-options.js'

/**
 * Compares the registered routes with the policy. Missing entries stop startup unless report-only
 * was asked for; anything else worth knowing goes to `onReport`.
 */
export function checkCoverage(resolved: ResolvedOptions, registered: Iterable<string>, where: string): void {
  const { missing, unused } = resolved.pipeline.policy().coverage(registered)
  if (missing.length > 0 && !resolved.reportOnly) {
    throw new ConfigError(
      `${where}: routes without a policy entry: ${missing.join(', ')}. Add them to the policy (or 'public'), or pass reportOnly: true while adopting Callsign`,
    )
  }
  if (missing.length > 0 || unused.length > 0) resolved.onReport({ missing, unused })
}
