import { metrics } from '@opentelemetry/api'

/** Tells the metrics how each reload of a file-backed part (key store, TLS material) ended. */
export interface ReloadTelemetry {
  succeeded(): void
  /** `code`: a short error code (`invalid`, `ENOENT` …), never a message. */
  failed(code: string): void
}

/**
 * The reload metrics of one kind of part, on the meter of the package that reloads: a counter
 * `callsign.<part>.reloads` by `callsign.reload.outcome` (`success`, `failure` with `error.type`),
 * and a gauge `callsign.<part>.reload.last_success` (Unix time in seconds of the last good load).
 * Take it when the part is made, after the OpenTelemetry SDK is registered. Without an SDK, every
 * call is a no-op.
 *
 * @example
 * const telemetry = reloadTelemetry('@callsign/api-key', 'key_store', () => loadedAt)
 * telemetry.succeeded()
 */
export function reloadTelemetry(
  meterName: string,
  part: string,
  lastSuccess: () => number | null,
): ReloadTelemetry {
  const meter = metrics.getMeter(meterName)
  const reloads = meter.createCounter(`callsign.${part}.reloads`, {
    description: `Reloads of the ${part.replace('_', ' ')} from its files, by outcome`,
    unit: '{reload}',
  })
  meter
    .createObservableGauge(`callsign.${part}.reload.last_success`, {
      description: `Unix time of the last good load of the ${part.replace('_', ' ')}`,
      unit: 's',
    })
    .addCallback((result) => {
      const at = lastSuccess()
      if (at !== null) result.observe(Math.floor(at / 1000))
    })
  return {
    succeeded: () => reloads.add(1, { 'callsign.reload.outcome': 'success' }),
    failed: (code) => reloads.add(1, { 'callsign.reload.outcome': 'failure', 'error.type': code }),
  }
}
