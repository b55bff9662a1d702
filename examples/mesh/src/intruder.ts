/**
 * intruder: a process inside the same network that holds no credential of its own, only an expired
 * token and a key stolen from another service. It tries every service and prints one JSON line per
 * attempt; it exits 0 only when every attempt was refused.
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

const attempts: [string, string, () => Promise<Outcome>][] = [
  ['no credential', 'gateway GET /shop/orders/42', () => http(`${gateway}/shop/orders/42`, { ca })],
  ['no credential', 'orders GET /orders/42', () => http(`${orders}/orders/42`, { ca })],
  [
    'no certificate',
    'billing POST /charges',
    () => http(`${billing}/charges`, { ca, method: 'POST', body: { amount: 1 } }),
  ],
  ['no credential', 'inventory Reserve', () => grpc(inventory, 'reserve', { ca })],
  [
    'expired token',
    'orders GET /orders/42',
    () => http(`${orders}/orders/42`, { ca, authorization: `Bearer ${expiredToken}` }),
  ],
  [
    'stolen warehouse key',
    'gateway POST /shop/orders',
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
    () => http(`${orders}/orders/42`, { ca, authorization: `Bearer ${stolenKey}` }),
  ],
  [
    'stolen warehouse key',
    'inventory Reserve',
    () => grpc(inventory, 'reserve', { ca, authorization: `Bearer ${stolenKey}` }),
  ],
]

let letIn = 0
for (const [holding, target, attempt] of attempts) {
  const outcome = await attempt()
  const refused = !['200', '201', 'OK'].includes(outcome.status)
  if (!refused) letIn++
  const code = typeof outcome.body.code === 'string' ? outcome.body.code : ''
  process.stdout.write(`${JSON.stringify({ holding, target, status: outcome.status, code, refused })}\n`)
}
process.exitCode = letIn === 0 ? 0 : 1
