import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'

const file = fileURLToPath(new URL('./fixtures/shop.proto', import.meta.url))
const loaded = grpc.loadPackageDefinition(loadSync(file, { keepCase: true })) as unknown as {
  shop: { v1: { Inventory: grpc.ServiceClientConstructor; Health: grpc.ServiceClientConstructor } }
}
export const { Inventory, Health } = loaded.shop.v1

/** The policy of the test services: every method of shop.proto. */
export const routes = {
  '/shop.v1.Inventory/Reserve': ['orders:read'],
  '/shop.v1.Inventory/Watch': ['orders:read'],
  '/shop.v1.Inventory/Upload': ['orders:write'],
  '/shop.v1.Inventory/Chat': ['orders:read'],
  '/shop.v1.Health/Check': 'public',
} as const

export interface ReplyMessage {
  caller: string
  sku: string
}

/** Starts the server on an ephemeral port. */
export function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, creds, (error, port) => (error ? reject(error) : resolve(port))),
  )
}

export interface CallOutcome {
  readonly code: number
  readonly errorCode?: string
  readonly reply?: ReplyMessage
}

/** A unary call, resolved with the status code, the callsign-error-code trailer and the reply. */
export function unary(
  client: grpc.Client,
  method: string,
  metadata: Record<string, string | string[]>,
): Promise<CallOutcome> {
  const md = new grpc.Metadata()
  for (const [key, value] of Object.entries(metadata)) for (const v of [value].flat()) md.add(key, v)
  return new Promise((resolve) => {
    ;(client as unknown as Record<string, (...args: unknown[]) => void>)[method]!(
      { sku: 'a-1' },
      md,
      (error: grpc.ServiceError | null, reply: ReplyMessage) => {
        if (!error) return resolve({ code: 0, reply })
        const errorCode = error.metadata?.get('callsign-error-code')[0]
        resolve({ code: error.code, ...(errorCode ? { errorCode: String(errorCode) } : {}) })
      },
    )
  })
}
