import { describe, expect, it } from 'vitest'
import {
  type AuthRequest,
  type Caller,
  createPipeline,
  type Decision,
  decideThen,
  definePolicy,
  type Pipeline,
  type Verifier,
} from '../src/index.js'

// Test doubles: verifiers that answer at once or later, so decideThen is tested alone.
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

describe('decideThen', () => {
  it('hands a synchronous decision on before it returns', () => {
    let seen: Decision | undefined
    decideThen(
      pipelineWith(() => reader),
      req,
      (decision) => {
        seen = decision
      },
    )
    expect(seen).toMatchObject({ allowed: true, caller: { id: 'gateway' } })
  })

  it('hands an asynchronous decision on once it settles', async () => {
    const seen: Decision[] = []
    let finish: (caller: Caller) => void = () => {}
    decideThen(
      pipelineWith(() => new Promise<Caller>((resolve) => (finish = resolve))),
      req,
      (decision) => seen.push(decision),
    )
    expect(seen).toEqual([])
    finish(reader)
    await new Promise((resolve) => setImmediate(resolve))
    expect(seen).toEqual([expect.objectContaining({ allowed: true, caller: reader })])
  })

  it.each([
    [
      'throws',
      () => {
        throw new Error('boom')
      },
    ],
    ['rejects', () => Promise.reject(new Error('boom'))],
  ])(
    'refuses (401 adapter_error) when the pipeline itself %s, never lets the request through',
    async (_, decide) => {
      const broken = { ...pipelineWith(() => reader), decide } as unknown as Pipeline
      const seen: Decision[] = []
      decideThen(broken, req, (decision) => seen.push(decision))
      await new Promise((resolve) => setImmediate(resolve))
      expect(seen).toHaveLength(1)
      expect(seen[0]).toMatchObject({
        allowed: false,
        error: { code: 'ERR_INVALID_CREDENTIAL', reason: 'adapter_error' },
      })
    },
  )
})
