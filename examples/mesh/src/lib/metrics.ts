import { metrics } from '@opentelemetry/api'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { MeterProvider } from '@opentelemetry/sdk-metrics'

/**
 * The application's OpenTelemetry SDK, as a service brings it: a meter provider whose reader is the
 * Prometheus exporter, serving every Callsign metric at `http://<host>:<port>/metrics`. Call it
 * before making any pipeline, verifier, key store, TLS material or issuer: Callsign takes its
 * instruments when they are made, and OpenTelemetry's metrics API has no proxy for instruments made
 * before a provider is registered. Without a port (`METRICS_PORT` unset), nothing is served.
 */
export async function serveMetrics(config: { host: string; metricsPort: number }): Promise<void> {
  if (!config.metricsPort) return
  const exporter = new PrometheusExporter({
    host: config.host,
    port: config.metricsPort,
    preventServerStart: true,
  })
  // a port already taken stops the service here, at startup, with the listen error
  await exporter.startServer()
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }))
}
