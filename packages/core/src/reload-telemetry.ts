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
 * Both carry `callsign.reload.file`: the last folder and name of `file`, the file that names the part
 * (`keys.json` in `/etc/orders/` is `orders/keys.json`; a certificate `/run/secrets/billing_tls/tls.crt`
 * is `billing_tls/tls.crt`), so that two stores or two TLS identities in one process are two series,
 * while the rest of the path (a home folder, a mount point) stays out of the metrics.
 * Take it when the part is made, after the OpenTelemetry SDK is registered. Without an SDK, every
 * call is a no-op.
 *
 * @example
 * const telemetry = reloadTelemetry('@callsign/api-key', 'key_store', () => loadedAt, '/etc/orders/keys.json')
 * telemetry.succeeded()
 */
export function reloadTelemetry(
  meterName: string,
  part: string,
  lastSuccess: () => number | null,
  file: string,
): ReloadTelemetry {
  const meter = metrics.getMeter(meterName)
  const source = { 'callsign.reload.file': fileLabel(file) }
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
      if (at !== null) result.observe(Math.floor(at / 1000), source)
    })
  return {
    succeeded: () => reloads.add(1, { ...source, 'callsign.reload.outcome': 'success' }),
    failed: (code) => reloads.add(1, { ...source, 'callsign.reload.outcome': 'failure', 'error.type': code }),
  }
}

/** The file's folder and name: `/etc/orders/keys.json` is `orders/keys.json`. */
function fileLabel(file: string): string {
  return file.split(/[\\/]/).filter(Boolean).slice(-2).join('/')
}
