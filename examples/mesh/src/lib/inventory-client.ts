import { join } from 'node:path'
import { type ChannelCredentials, type Client, loadPackageDefinition } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { meshDir } from '../config.js'

const definition = loadSync(join(meshDir, 'proto', 'inventory.proto'), { keepCase: false, defaults: true })

/** The generated `shop.v1.Inventory` service (client constructor and service definition). */
// biome-ignore lint/suspicious/noExplicitAny: proto-loader's package tree is untyped
export const Inventory = (loadPackageDefinition(definition) as any).shop.v1.Inventory as {
  new (address: string, credentials: ChannelCredentials, options?: object): InventoryClient
  service: import('@grpc/grpc-js').ServiceDefinition
}

export interface InventoryClient extends Client {
  health(request: object, callback: Callback<{ status: string }>): void
  check(request: { sku: string }, callback: Callback<CheckReply>): void
  check(
    request: { sku: string },
    metadata: import('@grpc/grpc-js').Metadata,
    callback: Callback<CheckReply>,
  ): void
  reserve(request: { sku: string; quantity: number; orderId: string }, callback: Callback<ReserveReply>): void
  reserve(
    request: { sku: string; quantity: number; orderId: string },
    metadata: import('@grpc/grpc-js').Metadata,
    callback: Callback<ReserveReply>,
  ): void
}

/** Channel options naming the server as its certificate does, whatever address reaches it. */
export const INVENTORY_NAME = {
  'grpc.ssl_target_name_override': 'inventory',
  'grpc.default_authority': 'inventory',
}

interface CheckReply {
  sku: string
  available: number
  caller: string
  kind: string
}

interface ReserveReply {
  reservationId: string
  caller: string
  kind: string
}

type Callback<T> = (error: import('@grpc/grpc-js').ServiceError | null, reply: T) => void

/** Calls a unary method and resolves its reply. */
export function unary<T>(call: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, reply) => (error ? reject(error) : resolve(reply))))
}
