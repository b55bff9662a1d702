import type { AuditEvent } from '@callsign/core'
import { GRPC_STATUS, HTTP_STATUS } from '@callsign/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expressHarness, fastifyHarness, grpcHarness, type Harness } from './support/harnesses.js'
import { type RealCredentials, realCredentials } from './support/real-credentials.js'
import { realScenarios } from './support/real-scenarios.js'

// The adapter contract again, with the REAL verifiers (apiKeyVerifier over a file key store,
// jwtVerifier with static keys, mtlsVerifier) and real credentials: keys from createApiKey /
// rotateApiKey / revoke, tokens from mintToken, certificates from createDevCa /
// issueServiceCertificate. Every adapter must give the same answer for the same reason (the audit
// event's reason). The gRPC TLS port, like the HTTPS servers, requests a client certificate
// without requiring one, so a bad certificate reaches the verifier (401 / 16) instead of failing
// the handshake.
const creds = await realCredentials()
afterAll(() => creds.close())

type Audit = (event: AuditEvent) => void
const factories: Record<string, (c: RealCredentials, audit: Audit) => Promise<Harness>> = {
  express: (c, audit) => expressHarness(c.certs, c.verifiers(), { audit, grants: c.grants }),
  fastify: (c, audit) => fastifyHarness(c.certs, c.verifiers(), { audit, grants: c.grants }),
  grpc: (c, audit) =>
    grpcHarness(
      c.certs,
      c.verifiers(),
      { audit, grants: c.grants },
      { serverCredentials: c.grpcServerCredentials() },
    ),
}

for (const [name, factory] of Object.entries(factories)) {
  describe(`adapter contract with the real verifiers: ${name}`, () => {
    let harness: Harness
    const audit: AuditEvent[] = []
    beforeAll(async () => {
      harness = await factory(creds, (event) => audit.push(event))
    })
    afterAll(async () => harness?.close())

    const grpc = name === 'grpc'
    for (const scenario of realScenarios(creds)) {
      const expected = scenario.code
        ? `${grpc ? GRPC_STATUS[scenario.code] : HTTP_STATUS[scenario.code]} ${scenario.code}`
        : `${grpc ? 0 : 200} caller ${scenario.caller}`
      it(`${scenario.name}: answers ${expected} (reason ${scenario.reason})`, async () => {
        const before = audit.length
        const outcome = await harness.send(scenario.target, scenario.credentials)
        if (scenario.code) {
          const status = grpc ? GRPC_STATUS[scenario.code] : HTTP_STATUS[scenario.code]
          expect(outcome).toEqual({ status, code: scenario.code })
        } else {
          expect(outcome).toEqual({ status: grpc ? 0 : 200, caller: scenario.caller })
        }
        expect(audit.length - before, 'one audit event per decision').toBe(1)
        expect(audit.at(-1)).toMatchObject({
          decision: scenario.code ? 'deny' : 'allow',
          reason: scenario.reason,
          ...(scenario.code ? { code: scenario.code } : {}),
          ...(scenario.caller ? { caller: scenario.caller } : {}),
          remoteAddress: expect.stringMatching(/127\.0\.0\.1$/),
        })
      })
    }
  })
}
