/**
 * intruder: a process inside the same network that holds no credential of its own, only an expired
 * token and a key stolen from another service. It tries every service and prints one JSON line per
 * attempt; it exits 0 only when every attempt met exactly the refusal expected of it (401 or 403,
 * gRPC UNAUTHENTICATED or PERMISSION_DENIED).
 */
import { readFileSync } from 'node:fs'
import { grpc, http, type Outcome } from './lib/calls.js'

const env = (name: string) => {
  const value = process.env[name]
  if (!value) throw new Error(`intruder: ${name} is not set`)
  return value
}

const ca = readFileSync(env('MESH_CA'))
const expiredToken = readFileSync(env('EXPIRED_TOKEN_FILE'), 'utf8').trim()
const stolenKey = readFileSync(env('STOLEN_KEY_FILE'), 'utf8').trim()
const gateway = env('GATEWAY_URL')
const orders = env('ORDERS_URL')
const billing = env('BILLING_URL')
const inventory = env('INVENTORY_ADDRESS')

// Each attempt and the exact refusal it must meet: a 2xx, a 500, a connection error or gRPC
// UNAVAILABLE are all failures, so the intruder cannot pass when Callsign refused nothing.
const attempts: [holding: string, target: string, expected: string, attempt: () => Promise<Outcome>][] = [
  ['no credential', 'gateway GET /shop/orders/42', '401', () => http(`${gateway}/shop/orders/42`, { ca })],
  ['no credential', 'orders GET /orders/42', '401', () => http(`${orders}/orders/42`, { ca })],
  [
    'no certificate',
    'billing POST /charges',
    '401',
    () => http(`${billing}/charges`, { ca, method: 'POST', body: { amount: 1 } }),
  ],
  ['no credential', 'inventory Reserve', 'UNAUTHENTICATED', () => grpc(inventory, 'reserve', { ca })],
  [
    'expired token',
    'orders GET /orders/42',
    '401',
    () => http(`${orders}/orders/42`, { ca, authorization: `Bearer ${expiredToken}` }),
  ],
  [
    'stolen warehouse key',
    'gateway POST /shop/orders',
    '403',
    () =>
      http(`${gateway}/shop/orders`, {
        ca,
        method: 'POST',
        authorization: `Bearer ${stolenKey}`,
        body: { sku: 'sku-1' },
      }),
  ],
  [
    'stolen warehouse key',
    'orders GET /orders/42',
    '401',
    () => http(`${orders}/orders/42`, { ca, authorization: `Bearer ${stolenKey}` }),
  ],
  [
    'stolen warehouse key',
    'inventory Reserve',
    'PERMISSION_DENIED',
    () => grpc(inventory, 'reserve', { ca, authorization: `Bearer ${stolenKey}` }),
  ],
]

let wrong = 0
for (const [holding, target, expected, attempt] of attempts) {
  const outcome: Outcome = await attempt().catch((error: Error) => ({
    status: `error: ${error.message}`,
    body: {},
  }))
  const refused = outcome.status === expected
  if (!refused) wrong++
  const code = typeof outcome.body.code === 'string' ? outcome.body.code : ''
  process.stdout.write(
    `${JSON.stringify({ holding, target, expected, status: outcome.status, code, refused })}\n`,
  )
}
process.exitCode = wrong === 0 ? 0 : 1
