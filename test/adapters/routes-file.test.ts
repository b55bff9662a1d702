import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../support/run-cli.js'
import { createDevCerts, type DevCerts } from './support/dev-certs.js'
import { expressHarness, fastifyHarness, grpcHarness, grpcRoutes, httpRoutes } from './support/harnesses.js'
import { tableVerifiers } from './support/test-verifiers.js'

// Each adapter dumps its route table at startup; `callsign policy check --routes` reads the dump.
let certs: DevCerts
let dir: string
beforeAll(() => {
  certs = createDevCerts()
  dir = mkdtempSync(join(tmpdir(), 'callsign-routes-'))
})

describe.each([
  ['express', expressHarness, httpRoutes, 'GET /unmapped'],
  ['fastify', fastifyHarness, httpRoutes, 'GET /unmapped'],
  ['grpc', grpcHarness, grpcRoutes, '/contract.v1.Orders/Unmapped'],
] as const)('%s', (name, make, routes, unmapped) => {
  it('writes its registered routes to routesFile, and policy check names the one without an entry', {
    timeout: CLI_TEST_TIMEOUT_MS,
  }, async () => {
    const routesFile = join(dir, `${name}-routes.json`)
    const harness = await make(certs, tableVerifiers(), { routesFile })
    await harness.close()
    const dump = JSON.parse(readFileSync(routesFile, 'utf8')) as { routes: string[] }
    for (const key of [...Object.keys(routes), unmapped]) expect(dump.routes).toContain(key)

    const policyFile = join(dir, `${name}-policy.json`)
    writeFileSync(policyFile, JSON.stringify({ routes }))
    const check = await runCli(['policy', 'check', policyFile, '--routes', routesFile])
    expect(check.stdout).toContain(`missing  ${unmapped}`)
    expect(check.code).toBe(1)
  })
})
