import type { Caller } from '@callsign/core'
import type { Application, NextFunction, Request, Response } from 'express'
import { expectTypeOf } from 'vitest'
import { type AuthOptions, auth, getCaller, requireScopes } from '../src/index.js'

declare const req: Request

// getCaller returns a Caller, never null; req.caller is the augmentation (null on public routes).
expectTypeOf(getCaller(req)).toEqualTypeOf<Caller>()
expectTypeOf(req.caller).toEqualTypeOf<Caller | null | undefined>()
expectTypeOf(getCaller(req).scopes).toEqualTypeOf<ReadonlySet<string>>()

// auth attaches to an app; requireScopes is route middleware.
expectTypeOf(auth).parameters.toEqualTypeOf<[Application, AuthOptions]>()
expectTypeOf(requireScopes('orders:read')).toEqualTypeOf<
  (req: Request, res: Response, next: NextFunction) => void
>()

// @ts-expect-error a string is not a request
getCaller('req')
