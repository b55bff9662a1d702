import { type Counter, metrics } from '@opentelemetry/api'
import type { KeySourceHealth } from './key-source.js'

/** What a remote key set reports: each fetch, as it ends. */
export interface KeySetTelemetry {
  /** `initial`: no key set yet; `refresh`: one was in use. `error`: why it failed, or null. */
  fetched(issuer: string, trigger: 'initial' | 'refresh', error: string | null): void
}

/**
 * The key sets' metrics, on the meter `@callsign/jwt`: `callsign.jwks.fetches` (one per fetch of a
 * JWKS or discovery document, by issuer, trigger and outcome, with `error.type` on a failure) and
 * `callsign.jwks.age` (seconds since each issuer's last good fetch, read from `health` when the
 * SDK collects). Taken when the verifier is made: register the SDK first.
 */
export function keySetTelemetry(health: () => readonly KeySourceHealth[]): KeySetTelemetry {
  const meter = metrics.getMeter('@callsign/jwt')
  const fetches: Counter = meter.createCounter('callsign.jwks.fetches', {
    description: 'Fetches of a JWKS (or discovery) document, by outcome',
    unit: '{fetch}',
  })
  meter
    .createObservableGauge('callsign.jwks.age', {
      description: 'Seconds since the key set in use was fetched',
      unit: 's',
    })
    .addCallback((result) => {
      for (const source of health()) {
        if (
          source.lastSuccessAgeSeconds !== null &&
          source.source !== 'static' &&
          source.source !== 'secret'
        ) {
          result.observe(source.lastSuccessAgeSeconds, { 'callsign.jwt.issuer': source.issuer })
        }
      }
    })
  return {
    fetched(issuer, trigger, error) {
      fetches.add(1, {
        'callsign.jwt.issuer': issuer,
        'callsign.jwks.trigger': trigger,
        'callsign.jwks.outcome': error === null ? 'success' : 'failure',
        ...(error === null ? {} : { 'error.type': error }),
      })
    },
  }
}
