import { describe, expect, it } from 'vitest'
import { decideOrRefuse } from '../src/adapter.js'
import {
  type AuthRequest,
  type Caller,
  createPipeline,
  definePolicy,
  type Pipeline,
  type Verifier,
} from '../src/index.js'

// Test doubles: verifiers that answer at once or later, so decideOrRefuse is tested alone.
const reader: Caller = {
  id: 'gateway',
  kind: 'jwt',
  scopes: new Set(['orders:read']),
  credentialId: 'c1',
  attributes: {},
}
const policy = definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } })
const req: AuthRequest = { transport: 'http', method: 'GET', route: '/orders/:id', header: () => [] }

const pipelineWith = (verify: Verifier['verify']) =>
  createPipeline({ policy, verifiers: [{ kind: 'jwt', verify }] })

describe('decideOrRefuse', () => {
  it('returns a synchronous decision itself, not a promise', () => {
    const decision = decideOrRefuse(
      pipelineWith(() => reader),
      req,
    )
    expect(decision).not.toBeInstanceOf(Promise)
    expect(decision).toMatchObject({ allowed: true, caller: { id: 'gateway' } })
  })

  it('returns a promise of the decision when a verifier must wait', async () => {
    let finish: (caller: Caller) => void = () => {}
    const decision = decideOrRefuse(
      pipelineWith(() => new Promise<Caller>((resolve) => (finish = resolve))),
      req,
    )
    expect(decision).toBeInstanceOf(Promise)
    finish(reader)
    expect(await decision).toMatchObject({ allowed: true, caller: reader })
  })

  it.each([
    [
      'throws',
      () => {
        throw new Error('boom')
      },
      false,
    ],
    ['rejects', () => Promise.reject(new Error('boom')), true],
  ])(
    'refuses (401 adapter_error) when the pipeline itself %s, and never throws or rejects',
    async (_, decide, later) => {
      const broken = { ...pipelineWith(() => reader), decide } as unknown as Pipeline
      let decision: ReturnType<typeof decideOrRefuse> | undefined
      expect(() => {
        decision = decideOrRefuse(broken, req)
      }).not.toThrow()
      expect(decision instanceof Promise).toBe(later) // a synchronous failure is refused in the same tick
      await expect(Promise.resolve(decision)).resolves.toMatchObject({
        allowed: false,
        error: { code: 'ERR_INVALID_CREDENTIAL', reason: 'adapter_error' },
      })
    },
  )
})
