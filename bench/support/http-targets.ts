import { createPublicKey } from 'node:crypto'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { apiKeyVerifier, fileKeyStore } from '@callsign/api-key'
import { definePolicy, type Verifier } from '@callsign/core'
import { auth as expressAuth } from '@callsign/express'
import { auth as fastifyAuth } from '@callsign/fastify'
import { jwtVerifier } from '@callsign/jwt'
import { mtlsVerifier } from '@callsign/mtls'
import bearerAuth from '@fastify/bearer-auth'
import fastifyJwt from '@fastify/jwt'
import express, { type NextFunction, type Request, type Response } from 'express'
import { expressjwt } from 'express-jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import {
  AUDIENCE,
  CLIENT_SPIFFE_ID,
  type Fixture,
  ISSUER,
  peerClaimsOk,
  SCOPE,
  TRUST_DOMAIN,
} from './fixture.js'

/** A server running in this (child) process. */
export interface Target {
  readonly port: number
  close(): Promise<void>
}

export type Guard = 'none' | 'api-key' | 'jwt' | 'jwt-nocache' | 'mtls'

/** The mTLS client's scope is the policy's grant (the verifier only authenticates). */
export const CLIENT_GRANTS = { [CLIENT_SPIFFE_ID]: [SCOPE] }

const policy = () => definePolicy({ routes: { 'GET /orders/:id': [SCOPE] }, grants: CLIENT_GRANTS })

/** Callsign's verifier for a guard, configured as its README recommends for production. */
export function callsignVerifier(guard: Exclude<Guard, 'none'>, fixture: Fixture): Verifier {
  switch (guard) {
    case 'api-key':
      return apiKeyVerifier({ store: fileKeyStore(fixture.keyStore) })
    case 'jwt':
      return jwtVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [fixture.publicJwk],
        algorithms: ['ES256'],
      })
    case 'jwt-nocache':
      return jwtVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: [fixture.publicJwk],
        algorithms: ['ES256'],
        tokenCache: false,
      })
    case 'mtls':
      return mtlsVerifier({
        identity: 'spiffe',
        trustDomains: { [TRUST_DOMAIN]: { ca: fixture.tls.ca } },
      })
  }
}

const tlsOptions = (fixture: Fixture) => ({
  ca: fixture.tls.ca,
  cert: fixture.tls.serverCert,
  key: fixture.tls.serverKey,
  requestCert: true,
  rejectUnauthorized: true,
})

// Peers: each configured as its README recommends, with the same checks as Callsign (issuer,
// audience, ES256 only, exp, iat, sub, 15-minute lifetime, 5 s tolerance, the route's scope).
const fastJwtVerify = (cache: boolean) => ({
  algorithms: ['ES256' as const],
  allowedIss: ISSUER,
  allowedAud: AUDIENCE,
  requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'],
  maxAge: 900_000,
  clockTolerance: 5_000,
  ...(cache ? { cache: true } : {}),
})

async function fastifyTarget(name: string, fixture: Fixture): Promise<FastifyInstance> {
  const tls = name.startsWith('fastify-tls:')
  const guard = name.slice(name.indexOf(':') + 1)
  // One instance type for both: the HTTPS server's type does not change the routes or hooks.
  const app = (tls ? Fastify({ https: tlsOptions(fixture) }) : Fastify()) as unknown as FastifyInstance
  switch (guard) {
    case 'none':
      break
    case 'bearer-auth':
      await app.register(bearerAuth, { keys: new Set([fixture.apiKey]) })
      break
    case 'fastify-jwt':
    case 'fastify-jwt-cache':
      await app.register(fastifyJwt, {
        secret: { public: fixture.publicPem },
        verify: fastJwtVerify(guard === 'fastify-jwt-cache'),
      })
      app.addHook('onRequest', async function peerJwt(request, reply) {
        try {
          const payload = await request.jwtVerify()
          if (!peerClaimsOk(payload)) return reply.code(403).send({ error: 'insufficient_scope' })
        } catch {
          return reply.code(401).send({ error: 'invalid_token' })
        }
      })
      break
    default:
      await app.register(fastifyAuth, {
        policy: policy(),
        verifiers: [callsignVerifier(guard as Guard & 'jwt', fixture)],
      })
  }
  app.get('/orders/:id', async (request) => ({ id: (request.params as { id: string }).id }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

async function expressTarget(name: string, fixture: Fixture): Promise<Server> {
  const tls = name.startsWith('express-tls:')
  const guard = name.slice(name.indexOf(':') + 1)
  const app = express()
  if (guard === 'express-jwt') {
    app.use(
      expressjwt({
        secret: createPublicKey(fixture.publicPem),
        algorithms: ['ES256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        maxAge: '15m',
        clockTolerance: 5,
      }),
      function peerClaims(req: Request, res: Response, next: NextFunction) {
        if (peerClaimsOk((req as Request & { auth?: unknown }).auth)) next()
        else res.status(403).json({ error: 'insufficient_scope' })
      },
    )
  }
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id })
  })
  if (guard === 'express-jwt') {
    app.use(function peerError(_error: unknown, _req: Request, res: Response, _next: NextFunction) {
      res.status(401).json({ error: 'invalid_token' })
    })
  } else if (guard !== 'none') {
    expressAuth(app, { policy: policy(), verifiers: [callsignVerifier(guard as Guard & 'jwt', fixture)] })
  }
  const server = tls ? createHttpsServer(tlsOptions(fixture), app) : createHttpServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** Starts the named HTTP target (`fastify:api-key`, `express-tls:mtls`, …) on a loopback port. */
export async function startHttpTarget(name: string, fixture: Fixture): Promise<Target> {
  if (name.startsWith('fastify')) {
    const app = await fastifyTarget(name, fixture)
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
  }
  if (name.startsWith('express')) {
    const server = await expressTarget(name, fixture)
    return {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    }
  }
  throw new Error(`unknown HTTP target ${name}`)
}
