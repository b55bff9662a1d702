import { fileURLToPath } from 'node:url'
import { definePolicy } from '@callsign/core'
import { auth, getCaller } from '@callsign/grpc'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { type Fixture, SCOPE } from './fixture.js'
import { CLIENT_GRANTS, callsignVerifier, type Guard, type Target } from './http-targets.js'

export const ORDERS_PROTO = fileURLToPath(new URL('./orders.proto', import.meta.url))
export const GET_METHOD = '/bench.v1.Orders/Get'

/** The `bench.v1.Orders` service definition (client constructor and service). */
export function ordersService(): grpc.ServiceClientConstructor {
  const loaded = grpc.loadPackageDefinition(loadSync(ORDERS_PROTO)) as unknown as {
    bench: { v1: { Orders: grpc.ServiceClientConstructor } }
  }
  return loaded.bench.v1.Orders
}

/**
 * A server interceptor that does nothing: what grpc-js costs per call for any interceptor at all,
 * before Callsign's does any work.
 */
export const noopInterceptor: grpc.ServerInterceptor = (_method, call) =>
  new grpc.ServerInterceptingCall(call)

/**
 * Starts `grpc:none|interceptor|api-key|jwt` (plaintext loopback) or `grpc-tls:none|mtls` (mutual
 * TLS). `interceptor` is the bare server with a no-op interceptor.
 */
export async function startGrpcTarget(name: string, fixture: Fixture): Promise<Target> {
  const tls = name.startsWith('grpc-tls:')
  const guard = name.slice(name.indexOf(':') + 1) as Guard | 'interceptor'
  const guarded = guard !== 'none' && guard !== 'interceptor'
  const interceptors = guarded
    ? [
        auth({
          policy: definePolicy({ routes: { [GET_METHOD]: [SCOPE] }, grants: CLIENT_GRANTS }),
          verifiers: [callsignVerifier(guard, fixture)],
          services: [],
          allowPlaintextLoopback: !tls,
        }),
      ]
    : guard === 'interceptor'
      ? [noopInterceptor]
      : []
  const server = new grpc.Server({ interceptors })
  const Orders = ordersService()
  server.addService(Orders.service, {
    Get(call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      callback(null, { id: call.request.id, by: guarded ? getCaller(call).id : '' })
    },
  })
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(
        Buffer.from(fixture.tls.ca),
        [
          {
            cert_chain: Buffer.from(fixture.tls.serverCert),
            private_key: Buffer.from(fixture.tls.serverKey),
          },
        ],
        true,
      )
    : grpc.ServerCredentials.createInsecure()
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  )
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.tryShutdown(() => resolve())
        setTimeout(() => server.forceShutdown(), 1_000).unref()
      }),
  }
}
