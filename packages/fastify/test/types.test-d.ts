import type { Caller } from '@callsign/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { expectTypeOf } from 'vitest'
import { getCaller, requireScopes } from '../src/index.js'

declare const request: FastifyRequest

// request.caller is decorated as null and filled by the plugin; getCaller narrows to Caller.
expectTypeOf(request.caller).toEqualTypeOf<Caller | null>()
expectTypeOf(getCaller(request)).toEqualTypeOf<Caller>()
expectTypeOf(requireScopes('orders:read')).parameters.toEqualTypeOf<[FastifyRequest, FastifyReply]>()

// @ts-expect-error a string is not a request
getCaller('request')
