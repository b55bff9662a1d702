import type { MethodDefinition } from '@grpc/grpc-js'

const serialize = (value: unknown) => Buffer.from(JSON.stringify(value))
const deserialize = (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown

/**
 * A unary gRPC method with JSON on the wire, for test services defined without a .proto (grpc-js
 * generic definitions).
 *
 * @example
 * const Orders = { Get: jsonUnaryMethod('/test.Orders/Get') }
 */
export function jsonUnaryMethod(path: string): MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  }
}
