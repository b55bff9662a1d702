// A CommonJS TypeScript gRPC service (moduleResolution "node": the `types` and `typesVersions`
// fallbacks, and require() of the ESM packages), built from the packed tarballs. It serves one
// method guarded by an API key store that `npx callsign` wrote, and calls it with the key that
// holds the scope and with a revoked one through @callsign/client/grpc.
import { apiKeyVerifier, fileKeyStore } from '@callsign/api-key'
import { apiKeyCredentials, fileSecret } from '@callsign/client'
import { grpcCredentials } from '@callsign/client/grpc'
import { definePolicy } from '@callsign/core'
import { auth, getCaller } from '@callsign/grpc'
import * as grpc from '@grpc/grpc-js'

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const json = {
  serialize: (value: object) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as Record<string, unknown>,
}
const definition: grpc.ServiceDefinition = {
  Reserve: {
    path: '/shop.Inventory/Reserve',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
}

async function main(): Promise<void> {
  const server = new grpc.Server({
    interceptors: [
      auth({
        policy: definePolicy({ routes: { '/shop.Inventory/Reserve': ['orders:read'] } }),
        verifiers: [apiKeyVerifier({ store: fileKeyStore(env('KEY_STORE')) })],
        services: [definition],
        allowPlaintextLoopback: true,
      }),
    ],
  })
  server.addService(definition, {
    Reserve: (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) =>
      callback(null, { reservedFor: getCaller(call).id }),
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  )
  const Client = grpc.makeGenericClientConstructor(definition, 'Inventory')
  const call = (secret: string) => {
    const g = grpcCredentials(apiKeyCredentials(fileSecret(secret)), {
      insecureLoopback: `127.0.0.1:${port}`,
    })
    const client = new Client(g.target ?? '', g.credentials, g.options)
    return new Promise<{ code: number; body?: unknown }>((resolve) =>
      client.Reserve({ sku: 'sku-1' }, (error: grpc.ServiceError | null, body: unknown) => {
        client.close()
        resolve(error ? { code: error.code } : { code: grpc.status.OK, body })
      }),
    )
  }
  console.log(
    JSON.stringify({ allowed: await call(env('KEY_FILE')), refused: await call(env('REVOKED_KEY_FILE')) }),
  )
  server.forceShutdown()
  process.exit(0)
}

void main()
