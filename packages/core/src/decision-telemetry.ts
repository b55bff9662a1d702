import {
  type Attributes,
  type Counter,
  createNoopMeter,
  type Histogram,
  metrics,
  trace,
} from '@opentelemetry/api'
import type { AuditReason } from './audit-reason.js'
import type { AuthErrorCode } from './auth-error.js'
import type { AuthRequest } from './auth-request.js'
import type { Caller, CredentialKind } from './caller.js'

/** The instrumentation scope of every instrument core makes. */
export const CORE_METER = '@callsign/core'

/**
 * What the pipeline reports through OpenTelemetry.
 *
 * @example
 * const telemetry: TelemetryOptions = { callerInMetrics: true }
 */
export interface TelemetryOptions {
  /**
   * Adds the caller id (`callsign.caller.id`) to the decisions counter. Off by default: every
   * caller is then a series of its own, which only a small mesh can afford.
   */
  readonly callerInMetrics?: boolean
}

/** One decision, as the pipeline tells it to {@link DecisionTelemetry.record}. */
export interface DecisionFacts {
  readonly req: AuthRequest
  readonly decision: 'allow' | 'deny' | 'would-deny'
  readonly reason: AuditReason
  readonly code: AuthErrorCode | undefined
  readonly caller: Caller | null
  /** The kind of the credential decided on: the caller's, or the verifier's that refused it. */
  readonly kind: CredentialKind | undefined
  /** Seconds spent deciding; NaN when the pipeline did not time the decision. */
  readonly seconds: number
}

export interface DecisionTelemetry {
  /** True when an OpenTelemetry SDK was registered when the pipeline was made: decisions are timed. */
  readonly metering: boolean
  record(facts: DecisionFacts): void
}

/**
 * Durations of a verification are mostly microseconds (a cached key or token) and sometimes a
 * network round trip (a key set fetched): buckets from 10 µs to 5 s.
 */
const DURATION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5,
]

/**
 * The metrics and span attributes of decisions. The meter is taken once, when the pipeline is made
 * (OpenTelemetry's metrics API has no proxy: an SDK must be registered before instruments are
 * made). With no SDK, recording a decision is one property read and one `trace.getActiveSpan()`.
 * Nothing recorded is a secret: ids, kinds, reasons, codes and route patterns only.
 */
export function decisionTelemetry(options: TelemetryOptions = {}): DecisionTelemetry {
  const meter = metrics.getMeter(CORE_METER)
  const metering = meter !== createNoopMeter()
  const callerInMetrics = options.callerInMetrics === true
  let decisions: Counter | undefined
  let duration: Histogram | undefined
  if (metering) {
    decisions = meter.createCounter('callsign.decisions', {
      description: 'Access decisions taken, allowed and refused',
      unit: '{decision}',
    })
    duration = meter.createHistogram('callsign.verification.duration', {
      description: 'Time from the request reaching the pipeline to its decision, per credential kind',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    })
  }
  return {
    metering,
    record(facts) {
      if (decisions !== undefined) {
        const attributes = decisionAttributes(facts, callerInMetrics)
        decisions.add(1, attributes)
        if (facts.kind !== undefined && !Number.isNaN(facts.seconds)) {
          duration?.record(facts.seconds, {
            'callsign.credential.kind': facts.kind,
            'callsign.decision': facts.decision,
          })
        }
      }
      const span = trace.getActiveSpan()
      if (span?.isRecording()) span.setAttributes(spanAttributes(facts))
    },
  }
}

/** Bounded attributes: the caller id only when asked for. */
function decisionAttributes(facts: DecisionFacts, callerInMetrics: boolean): Attributes {
  const { req } = facts
  const attributes: Attributes = {
    'callsign.decision': facts.decision,
    'callsign.reason': facts.reason,
    'callsign.transport': req.transport,
  }
  if (req.transport === 'http') {
    attributes['http.request.method'] = req.method
    attributes['http.route'] = req.route
  } else {
    attributes['rpc.system'] = 'grpc'
    attributes['rpc.method'] = req.route
  }
  if (facts.kind !== undefined) attributes['callsign.credential.kind'] = facts.kind
  if (facts.code !== undefined) attributes['error.type'] = facts.code
  if (callerInMetrics && facts.caller !== null) attributes['callsign.caller.id'] = facts.caller.id
  return attributes
}

/** On the request's span: who called and what was decided (a span's attributes are not series). */
function spanAttributes(facts: DecisionFacts): Attributes {
  const attributes: Attributes = {
    'callsign.decision': facts.decision,
    'callsign.reason': facts.reason,
  }
  if (facts.kind !== undefined) attributes['callsign.credential.kind'] = facts.kind
  if (facts.code !== undefined) attributes['error.type'] = facts.code
  if (facts.caller !== null) {
    attributes['callsign.caller.id'] = facts.caller.id
    attributes['callsign.credential.id'] = facts.caller.credentialId
  }
  return attributes
}
