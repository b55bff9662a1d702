/**
 * `pnpm demo` (interim): one protected HTTP service on loopback, called for real, narrated.
 * The example mesh (examples/mesh) replaces this tour as the packages land.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AuditEvent,
  AuthError,
  type AuthRequest,
  createPipeline,
  definePolicy,
  httpRefusal,
  type Verifier,
} from '@callsign/core'

// A stand-in verifier for this interim tour only: two fixed demonstration tokens.
const demoTokens: Verifier = {
  kind: 'api-key',
  async verify(req) {
    const value = req.header('authorization')[0]
    if (value === undefined) return null
    const known: Record<string, { id: string; scopes: string[] }> = {
      'Bearer demo-gateway': { id: 'gateway', scopes: ['orders:read'] },
      'Bearer demo-billing': { id: 'billing', scopes: ['billing:charge'] },
    }
    const found = known[value]
    if (!found) throw new AuthError('ERR_INVALID_CREDENTIAL', { reason: 'unknown_key' })
    return {
      id: found.id,
      kind: 'api-key',
      scopes: new Set(found.scopes),
      credentialId: found.id,
      attributes: {},
    }
  },
}

const routes: Record<string, string> = {
  '/orders/42': '/orders/:id',
  '/healthz': '/healthz',
  '/admin': '/admin',
}
const audit: AuditEvent[] = []
const pipeline = createPipeline({
  policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'], 'GET /healthz': 'public' } }),
  verifiers: [demoTokens],
  audit: (event) => audit.push(event),
})

const server = createServer(async (req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/'
  const authRequest: AuthRequest = {
    transport: 'http',
    method: req.method ?? 'GET',
    route: routes[path] ?? path,
    header: (name) => req.headersDistinct[name] ?? [],
    remoteAddress: req.socket.remoteAddress ?? '',
  }
  const decision = await pipeline.decide(authRequest)
  if (!decision.allowed) {
    const refusal = httpRefusal(decision.error)
    res.writeHead(refusal.status, refusal.headers).end(JSON.stringify(refusal.body))
    return
  }
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ caller: decision.caller?.id ?? null }))
})

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const steps: [string, string, string | undefined, number][] = [
  ['a public health check', '/healthz', undefined, 200],
  ['gateway reads an order', '/orders/42', 'Bearer demo-gateway', 200],
  ['billing lacks orders:read', '/orders/42', 'Bearer demo-billing', 403],
  ['an intruder with no credential', '/orders/42', undefined, 401],
  ['an intruder with a made-up token', '/orders/42', 'Bearer guessed', 401],
  ['a route nobody put in the policy', '/admin', 'Bearer demo-gateway', 403],
]

let failures = 0
console.log('Callsign demo: one service, six calls\n')
console.log(`${'call'.padEnd(36)} ${'expected'.padEnd(9)} ${'got'.padEnd(5)} answer`)
for (const [title, path, authorization, expected] of steps) {
  const response = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} })
  const body = (await response.json()) as { caller?: string; code?: string }
  const ok = response.status === expected
  if (!ok) failures++
  const answer = body.code ?? `hello ${body.caller ?? 'anonymous'}`
  console.log(
    `${title.padEnd(36)} ${String(expected).padEnd(9)} ${String(response.status).padEnd(5)} ${answer}${ok ? '' : '  <-- unexpected'}`,
  )
}
server.close()
console.log(`\n${audit.length} audit events, e.g. ${JSON.stringify(audit[2])}`)
console.log(
  failures === 0 ? '\nEvery call behaved as expected.' : `\n${failures} call(s) did not behave as expected.`,
)
process.exitCode = failures === 0 ? 0 : 1
