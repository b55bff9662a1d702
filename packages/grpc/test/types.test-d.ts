import type { Caller } from '@callsign/core'
import type {
  handleUnaryCall,
  ServerDuplexStream,
  ServerInterceptor,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js'
import { expectTypeOf } from 'vitest'
import { auth, type GrpcAuthOptions, getCaller, requireScopes } from '../src/index.js'

declare const unary: ServerUnaryCall<{ sku: string }, { ok: boolean }>
declare const serverStream: ServerWritableStream<{ sku: string }, { ok: boolean }>
declare const clientStream: ServerReadableStream<{ sku: string }, { ok: boolean }>
declare const bidi: ServerDuplexStream<{ sku: string }, { ok: boolean }>

// getCaller accepts every handler kind's call and returns a Caller.
expectTypeOf(getCaller(unary)).toEqualTypeOf<Caller>()
expectTypeOf(getCaller(serverStream)).toEqualTypeOf<Caller>()
expectTypeOf(getCaller(clientStream)).toEqualTypeOf<Caller>()
expectTypeOf(getCaller(bidi)).toEqualTypeOf<Caller>()

// auth makes the interceptor for the Server constructor; requireScopes keeps the handler's own type.
expectTypeOf(auth).parameters.toEqualTypeOf<[GrpcAuthOptions]>()
expectTypeOf(auth).returns.toEqualTypeOf<ServerInterceptor>()
declare const reserve: handleUnaryCall<{ sku: string }, { ok: boolean }>
expectTypeOf(requireScopes('inventory:reserve')(reserve)).toEqualTypeOf(reserve)

// @ts-expect-error a string is not a call
getCaller('call')
