import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js'
import { Agent, fetch } from 'undici'
import { INVENTORY_NAME, Inventory } from './inventory-client.js'

/** The outcome of one call as the tour shows it: an HTTP status or a gRPC status name, and the body. */
export interface Outcome {
  readonly status: string
  readonly body: Record<string, unknown>
}

const GRPC_NAMES: Record<number, string> = {
  0: 'OK',
  7: 'PERMISSION_DENIED',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
}

/** An HTTP(S) call trusting the mesh CA, with an optional Authorization header. */
export async function http(
  url: string,
  options: { ca: Buffer; authorization?: string; method?: string; body?: unknown },
): Promise<Outcome> {
  const dispatcher = new Agent({ connect: { ca: options.ca } })
  try {
    const response = await fetch(url, {
      method: options.method ?? 'GET',
      dispatcher,
      headers: {
        ...(options.authorization ? { authorization: options.authorization } : {}),
        ...(options.body ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body ? { body: JSON.stringify(options.body) } : {}),
    })
    const text = await response.text()
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(text) as Record<string, unknown>
    } catch {
      body = { text }
    }
    return { status: String(response.status), body }
  } finally {
    await dispatcher.close()
  }
}

/** A unary call to inventory over TLS, with an optional `authorization` metadata value. */
export function grpc(
  address: string,
  method: 'check' | 'reserve' | 'health',
  options: { ca: Buffer; authorization?: string },
): Promise<Outcome> {
  const client = new Inventory(address, credentials.createSsl(options.ca), INVENTORY_NAME)
  const metadata = new Metadata()
  if (options.authorization) metadata.set('authorization', options.authorization)
  const request = method === 'reserve' ? { sku: 'sku-1', quantity: 1, orderId: 'x' } : { sku: 'sku-1' }
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 10_000)
    // biome-ignore lint/suspicious/noExplicitAny: the generated client's methods are untyped here
    ;(client as any)[method](
      request,
      metadata,
      { deadline },
      (error: ServiceError | null, reply: Record<string, unknown>) => {
        client.close()
        if (error) {
          const code = error.metadata?.get('callsign-error-code')[0]
          resolve({
            status: GRPC_NAMES[error.code] ?? String(error.code),
            body: code ? { code: String(code) } : {},
          })
        } else resolve({ status: 'OK', body: reply })
      },
    )
  })
}
