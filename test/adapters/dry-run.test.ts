import type { AuditEvent } from '@callsign/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevCerts, type DevCerts } from './support/dev-certs.js'
import { expressHarness, fastifyHarness, grpcHarness, type Harness } from './support/harnesses.js'
import { tableVerifiers } from './support/test-verifiers.js'

// Dry-run rollout (issue 9): refusals are audited as would-deny and let through, on every adapter.
let certs: DevCerts
beforeAll(() => {
  certs = createDevCerts()
})

describe.each([
  ['express', expressHarness],
  ['fastify', fastifyHarness],
  ['grpc', grpcHarness],
] as const)('%s in dry-run mode', (_name, make) => {
  const events: AuditEvent[] = []
  const warnings: string[] = []
  let harness: Harness
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code === 'CALLSIGN_DRY_RUN') warnings.push(warning.message)
  }

  beforeAll(async () => {
    process.on('warning', onWarning)
    harness = await make(certs, tableVerifiers(), { dryRun: true, audit: (event) => events.push(event) })
    await new Promise((resolve) => setImmediate(resolve))
  })
  afterAll(async () => {
    process.off('warning', onWarning)
    await harness.close()
  })

  it('says so loudly at startup', () => {
    expect(warnings.join('\n')).toMatch(/DRY-RUN/)
  })

  it('lets a request with no credential through and audits it as would-deny ERR_NO_CREDENTIAL', async () => {
    events.length = 0
    const outcome = await harness.send('read', {})
    expect(outcome.code).toBeUndefined()
    expect([200, 0]).toContain(outcome.status)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ decision: 'would-deny', code: 'ERR_NO_CREDENTIAL' })
  })

  it('lets a missing scope through with the caller attached, audited as would-deny ERR_INSUFFICIENT_SCOPE', async () => {
    events.length = 0
    const outcome = await harness.send('write', { bearer: 'valid-reader' })
    expect(outcome.caller).toBe('svc-reader')
    expect(events[0]).toMatchObject({
      decision: 'would-deny',
      code: 'ERR_INSUFFICIENT_SCOPE',
      caller: 'svc-reader',
    })
  })

  it('still audits an allowed request as allow', async () => {
    events.length = 0
    const outcome = await harness.send('read', { bearer: 'valid-reader' })
    expect(outcome.caller).toBe('svc-reader')
    expect(events[0]).toMatchObject({ decision: 'allow', reason: 'granted' })
  })
})
