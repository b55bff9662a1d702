import { type Attributes, context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inMemoryMetrics } from '../support/in-memory-metrics.js'
import {
  type ExtraOptions,
  expressHarness,
  fastifyHarness,
  grpcHarness,
  type Harness,
  type Instrument,
} from './support/harnesses.js'
import { type RealCredentials, realCredentials } from './support/real-credentials.js'
import { realScenarios } from './support/real-scenarios.js'

// The SDK's in-memory metric exporter and span exporter, registered as an application would, and
// the adapter contract's real verifiers and credentials. The test plays the part of the HTTP and
// gRPC instrumentations (which patch modules through loader hooks that do not run under the test
// runner): a server span made active around each request with the real AsyncLocalStorage context
// manager. Everything else is real: TLS servers, adapters, pipeline, verifiers, the SDK.
const creds = await realCredentials()
afterAll(() => creds.close())

const spans = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
const contextManager = new AsyncLocalStorageContextManager().enable()
context.setGlobalContextManager(contextManager)
trace.setGlobalTracerProvider(tracerProvider)
const tracer = trace.getTracer('telemetry-test')
const instrument: Instrument = {
  start(name) {
    const span = tracer.startSpan(name)
    const active = trace.setSpan(context.active(), span)
    return { run: (fn) => context.with(active, fn), end: () => span.end() }
  },
}
afterAll(async () => {
  await tracerProvider.shutdown()
  context.disable()
  trace.disable()
  metrics.disable()
})

type Factory = (c: RealCredentials, extra: ExtraOptions) => Promise<Harness>
const factories: Record<string, Factory> = {
  express: (c, extra) => expressHarness(c.certs, c.verifiers(), { ...extra, grants: c.grants }),
  fastify: (c, extra) => fastifyHarness(c.certs, c.verifiers(), { ...extra, grants: c.grants }),
  grpc: (c, extra) =>
    grpcHarness(
      c.certs,
      c.verifiers(),
      { ...extra, grants: c.grants },
      { serverCredentials: c.grpcServerCredentials() },
    ),
}

/** Every secret the table presents, and the parts of it that are secret on their own. */
function secretsOf(c: RealCredentials): string[] {
  const keys = Object.values(c.apiKey).flatMap((key) => [key, key.split('_').at(-1)!])
  const tokens = Object.values(c.jwt).flatMap((token) => [token, token.split('.').at(-1)!])
  const pems = Object.values(c.mtls).map(
    (pair) =>
      String(pair.key)
        .split('\n')
        .filter((line) => line.length > 40)[0]!,
  )
  return [...keys, ...tokens, ...pems]
}

/** Points in a stable order: by their attributes, keys sorted. */
const sorted = (points: { attributes: Attributes; value: unknown }[]) =>
  points
    .map(({ attributes, value }) => ({
      attributes: Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b))),
      value,
    }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)))

for (const [name, factory] of Object.entries(factories)) {
  describe(`OpenTelemetry through ${name}`, () => {
    let harness: Harness
    let meter: ReturnType<typeof inMemoryMetrics>
    const grpc = name === 'grpc'
    beforeAll(async () => {
      spans.reset()
      meter = inMemoryMetrics()
      harness = await factory(creds, { instrument })
    })
    afterAll(async () => {
      await harness?.close()
      await meter?.shutdown()
    })

    const where = (route: string, method: string): Attributes =>
      grpc
        ? {
            'callsign.transport': 'grpc',
            'rpc.system': 'grpc',
            'rpc.method': `/contract.v1.Orders/${{ '/orders/:id': 'Get', '/orders': 'Create', '/healthz': 'Health' }[route]}`,
          }
        : { 'callsign.transport': 'http', 'http.request.method': method, 'http.route': route }

    it('counts allowed and refused decisions with bounded attributes, and times them per credential kind', async () => {
      await harness.send('read', { apiKey: creds.apiKey.reader })
      await harness.send('read', { apiKey: creds.apiKey.reader })
      await harness.send('read', { apiKey: creds.apiKey.revoked })
      await harness.send('write', { bearer: creds.jwt.writer })
      await harness.send('write', { bearer: creds.jwt.reader })
      await harness.send('read', {})
      await harness.send('public', {})

      const [decisions, ...more] = await meter.metric('callsign.decisions')
      expect(more).toEqual([])
      expect(decisions!.scope).toBe('@callsign/core')
      expect(decisions!.metric.descriptor).toMatchObject({ unit: '{decision}' })
      expect(sorted(decisions!.metric.dataPoints)).toEqual(
        sorted([
          {
            attributes: {
              'callsign.decision': 'allow',
              'callsign.reason': 'granted',
              'callsign.credential.kind': 'api-key',
              ...where('/orders/:id', 'GET'),
            },
            value: 2,
          },
          {
            attributes: {
              'callsign.decision': 'deny',
              'callsign.reason': 'revoked',
              'callsign.credential.kind': 'api-key',
              'error.type': 'ERR_INVALID_CREDENTIAL',
              ...where('/orders/:id', 'GET'),
            },
            value: 1,
          },
          {
            attributes: {
              'callsign.decision': 'allow',
              'callsign.reason': 'granted',
              'callsign.credential.kind': 'jwt',
              ...where('/orders', 'POST'),
            },
            value: 1,
          },
          {
            attributes: {
              'callsign.decision': 'deny',
              'callsign.reason': 'scope_missing',
              'callsign.credential.kind': 'jwt',
              'error.type': 'ERR_INSUFFICIENT_SCOPE',
              ...where('/orders', 'POST'),
            },
            value: 1,
          },
          {
            attributes: {
              'callsign.decision': 'deny',
              'callsign.reason': 'no_credential',
              'error.type': 'ERR_NO_CREDENTIAL',
              ...where('/orders/:id', 'GET'),
            },
            value: 1,
          },
          {
            attributes: {
              'callsign.decision': 'allow',
              'callsign.reason': 'public',
              ...where('/healthz', 'GET'),
            },
            value: 1,
          },
        ]),
      )

      const [duration] = await meter.metric('callsign.verification.duration')
      expect(duration!.metric.descriptor).toMatchObject({ unit: 's' })
      const counts = Object.fromEntries(
        duration!.metric.dataPoints.map((point) => [
          JSON.stringify(point.attributes),
          (point.value as { count: number }).count,
        ]),
      )
      expect(counts).toEqual({
        [JSON.stringify({ 'callsign.credential.kind': 'api-key', 'callsign.decision': 'allow' })]: 2,
        [JSON.stringify({ 'callsign.credential.kind': 'api-key', 'callsign.decision': 'deny' })]: 1,
        [JSON.stringify({ 'callsign.credential.kind': 'jwt', 'callsign.decision': 'allow' })]: 1,
        [JSON.stringify({ 'callsign.credential.kind': 'jwt', 'callsign.decision': 'deny' })]: 1,
      })
    })

    it("writes the caller's identity and the decision on the active span, and starts no span of its own", async () => {
      const ended = spans.getFinishedSpans()
      expect(ended.map((span) => span.name)).toHaveLength(7) // one per request: the instrumentation's
      const byAttributes = (span: ReadableSpan) => span.attributes
      expect(byAttributes(ended[0]!)).toEqual({
        'callsign.decision': 'allow',
        'callsign.reason': 'granted',
        'callsign.credential.kind': 'api-key',
        'callsign.caller.id': 'key-reader',
        'callsign.credential.id': creds.apiKey.reader.split('_')[1],
      })
      expect(byAttributes(ended[2]!)).toEqual({
        'callsign.decision': 'deny',
        'callsign.reason': 'revoked',
        'callsign.credential.kind': 'api-key',
        'error.type': 'ERR_INVALID_CREDENTIAL',
      })
      expect(byAttributes(ended[4]!)).toMatchObject({
        'callsign.decision': 'deny',
        'callsign.reason': 'scope_missing',
        'callsign.caller.id': 'jwt-reader',
        'callsign.credential.kind': 'jwt',
      })
      expect(byAttributes(ended[6]!)).toEqual({ 'callsign.decision': 'allow', 'callsign.reason': 'public' })
    })

    it('exports no secret and no raw credential across the whole real scenario table', async () => {
      for (const scenario of realScenarios(creds)) await harness.send(scenario.target, scenario.credentials)
      const exported = JSON.stringify({
        metrics: await meter.everything(),
        spans: spans.getFinishedSpans().map((span) => ({ name: span.name, attributes: span.attributes })),
      })
      expect(exported).toContain('key-reader') // the scan reads what was exported
      for (const secret of secretsOf(creds))
        expect(exported.includes(secret), 'a secret was exported').toBe(false)
    })
  })
}

describe('OpenTelemetry: the caller id in metrics, when the operator opts in', () => {
  it('adds callsign.caller.id to the decisions counter only with telemetry.callerInMetrics', async () => {
    const meter = inMemoryMetrics()
    const harness = await factories.express!(creds, { telemetry: { callerInMetrics: true } })
    try {
      await harness.send('read', { apiKey: creds.apiKey.reader })
      const decisions = await meter.points('callsign.decisions')
      expect(decisions.map((point) => point.attributes['callsign.caller.id'])).toEqual(['key-reader'])
    } finally {
      await harness.close()
      await meter.shutdown()
    }
  })
})
