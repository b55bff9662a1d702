import { type Attributes, metrics } from '@opentelemetry/api'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'

/** One exported point: its attributes and value (a number, or a histogram's summary). */
export interface Point {
  readonly attributes: Attributes
  readonly value: unknown
}

/**
 * The OpenTelemetry SDK's in-memory metric exporter behind a meter provider, registered globally as
 * an application would (unregistering any provider before it). Points are read on demand; the
 * reader's own interval never fires during a test.
 */
export function inMemoryMetrics() {
  metrics.disable()
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const provider = new MeterProvider({ readers: [reader] })
  metrics.setGlobalMeterProvider(provider)
  const collect = async () => {
    exporter.reset()
    await reader.forceFlush()
    return exporter.getMetrics()
  }
  return {
    /** Everything exported now. */
    everything: collect,
    /** The metrics named `name`, with the meter (instrumentation scope) that made each. */
    async metric(name: string) {
      return (await collect())
        .flatMap((resource) => resource.scopeMetrics)
        .flatMap((scope) => scope.metrics.map((metric) => ({ scope: scope.scope.name, metric })))
        .filter(({ metric }) => metric.descriptor.name === name)
    },
    /** The points of the metric named `name`. */
    async points(name: string): Promise<Point[]> {
      return (await this.metric(name)).flatMap(({ metric }) =>
        metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })),
      )
    },
    async shutdown() {
      await provider.shutdown()
      metrics.disable()
    },
  }
}
