import { GRPC_STATUS, HTTP_STATUS } from '@callsign/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevCerts } from './support/dev-certs.js'
import { expressHarness, fastifyHarness, grpcHarness, type Harness } from './support/harnesses.js'
import { SCENARIOS } from './support/scenarios.js'
import { tableVerifiers } from './support/test-verifiers.js'

// One scenario table, three adapters, identical outcomes. Credentials are checked by the test
// doubles in support/test-verifiers.ts; the wire mapping and the route resolution are real.
const certs = createDevCerts()
const factories = { express: expressHarness, fastify: fastifyHarness, grpc: grpcHarness }

for (const [name, factory] of Object.entries(factories)) {
  describe(`adapter contract: ${name}`, () => {
    let harness: Harness
    beforeAll(async () => {
      harness = await factory(certs, tableVerifiers())
    })
    afterAll(async () => harness?.close())

    for (const scenario of SCENARIOS) {
      const expected = scenario.code
        ? `${name === 'grpc' ? GRPC_STATUS[scenario.code] : HTTP_STATUS[scenario.code]} ${scenario.code}`
        : `${name === 'grpc' ? 0 : 200} caller ${scenario.caller}`
      it(`${scenario.name}: answers ${expected}`, async () => {
        const outcome = await harness.send(scenario.target, scenario.credentials)
        if (scenario.code) {
          const status =
            harness.transport === 'grpc' ? GRPC_STATUS[scenario.code] : HTTP_STATUS[scenario.code]
          expect(outcome).toEqual({ status, code: scenario.code })
        } else {
          expect(outcome).toEqual({ status: harness.transport === 'grpc' ? 0 : 200, caller: scenario.caller })
        }
      })
    }
  })
}
