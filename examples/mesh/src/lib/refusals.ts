/**
 * The refusals a service counted, by reason, from its Prometheus metrics: the `callsign.decisions`
 * counter (core's decision telemetry), which the Prometheus exporter serves as
 * `callsign_decisions_total` with the attributes as labels (`callsign_decision`, `callsign_reason` …).
 * Points of every route, method and credential kind with `callsign_decision="deny"` are summed by
 * `callsign_reason`; a dry run's `would-deny` is not a refusal.
 */
export function refusalsByReason(metricsText: string): Record<string, number> {
  const refusals: Record<string, number> = {}
  for (const line of metricsText.split('\n')) {
    const point = /^callsign_decisions_total\{(.*)\} (\S+)/.exec(line)
    if (!point) continue
    const labels = Object.fromEntries(
      [...point[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => [name, value]),
    )
    if (labels.callsign_decision !== 'deny') continue
    const reason = labels.callsign_reason ?? 'unknown'
    refusals[reason] = (refusals[reason] ?? 0) + Number(point[2])
  }
  return refusals
}
