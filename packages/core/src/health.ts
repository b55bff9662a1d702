/** `ok`; `degraded`: still deciding correctly on a last good state (stale keys, a failed reload); `failing`: refusing or losing what it should not. */
export type HealthStatus = 'ok' | 'degraded' | 'failing'

/**
 * What a part of the pipeline says of itself: a status, and details for people beside it (times,
 * counts, error codes; never a secret). A verifier or an audit sink may offer it as `health()`.
 */
export interface ComponentHealth {
  readonly status: HealthStatus
}

/**
 * The pipeline's health: the worst status of its parts, and each part's own report.
 *
 * @example
 * const health = pipeline.health()
 * res.status(health.status === 'failing' ? 503 : 200).json(health)
 */
export interface PipelineHealth {
  readonly status: HealthStatus
  /** `verifier:jwt`, `verifier:api-key`, `verifier:mtls`, `audit:0` … each with its report. */
  readonly components: Readonly<Record<string, ComponentHealth>>
}

const ORDER: Record<HealthStatus, number> = { ok: 0, degraded: 1, failing: 2 }

/** The worse of two statuses. */
export function worseStatus(a: HealthStatus, b: HealthStatus): HealthStatus {
  return ORDER[b] > ORDER[a] ? b : a
}

/**
 * A part's report, made safe to aggregate: a `health()` that throws or answers without a known
 * status is `failing` (a health check must never throw).
 */
export function healthOf(part: { health?: () => unknown }): ComponentHealth | undefined {
  if (typeof part.health !== 'function') return undefined
  try {
    const report = part.health() as Partial<ComponentHealth> | null
    if (
      report !== null &&
      typeof report === 'object' &&
      typeof report.status === 'string' &&
      report.status in ORDER
    ) {
      return report as ComponentHealth
    }
  } catch {
    // reported as failing below
  }
  const unavailable = { status: 'failing', error: 'health_unavailable' } as const
  return unavailable
}
