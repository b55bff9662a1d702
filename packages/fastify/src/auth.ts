import type { Caller, Decision } from '@callsign/core'
import {
  type AdapterOptions,
  checkCoverage,
  decideOrRefuse,
  resolveAdapterOptions,
} from '@callsign/core/adapter'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { fromFastify } from './from-fastify.js'
import { STATE, type WithState } from './lib/request-state.js'
import { sendRefusal } from './lib/send-refusal.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; `null` on a public route. Set by Callsign's `auth` plugin. */
    caller: Caller | null
  }
}

const WHERE = '@callsign/fastify'

const callsignPlugin: FastifyPluginAsync<AdapterOptions> = async (fastify, options) => {
  const resolved = resolveAdapterOptions(options, WHERE)
  const { pipeline } = resolved
  const state = Object.freeze({ pipeline })
  const registered: { method: string; url: string }[] = []

  fastify.decorateRequest('caller', null)
  fastify.decorateRequest(STATE, null)

  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      registered.push({ method: method.toUpperCase(), url: route.url })
  })

  /** Applies a decision: one function per plugin, so a synchronous one allocates no callback. */
  const apply = (request: FastifyRequest, reply: FastifyReply, done: () => void, decision: Decision) => {
    if (!decision.allowed) {
      sendRefusal(reply, decision.error, pipeline.realm) // the hook chain stops here
      return
    }
    request.caller = decision.caller
    done()
  }

  // A callback hook, not an async one: a decision the verifiers answer from memory (a cached key or
  // token, the TLS handshake) lets the request go on in the same tick, with no promise in between.
  fastify.addHook('onRequest', function callsignOnRequest(request, reply, done) {
    const route = request.routeOptions.url
    if (route === undefined)
      return done() // no route matched: the framework's 404
    ;(request as WithState)[STATE] = state
    const decision = decideOrRefuse(pipeline, fromFastify(request, route))
    if (decision instanceof Promise) decision.then((settled) => apply(request, reply, done, settled))
    else apply(request, reply, done, decision)
  })

  fastify.addHook('onReady', async function callsignCoverage() {
    const gets = new Set(registered.filter((r) => r.method === 'GET').map((r) => r.url))
    const keys = registered
      // Fastify adds HEAD beside every GET (also at `/prefix/`): the GET entry governs them.
      .filter((r) => r.method !== 'HEAD' || !(gets.has(r.url) || gets.has(r.url.replace(/\/$/, ''))))
      .map((r) => `${r.method} ${r.url}`)
    checkCoverage(resolved, keys, WHERE)
  })
}

/**
 * The Fastify 5 plugin. Register it before your routes: it decides every request in an
 * `onRequest` hook (before the body is parsed) for the route Fastify matched, sets
 * `request.caller`, and at `ready()` fails startup naming every route without a policy entry.
 *
 * @example
 * const app = Fastify()
 * await app.register(auth, { policy, verifiers: [jwtVerifier({ issuer, audience, jwksUrl })] })
 * app.get('/orders/:id', async (request) => ({ by: getCaller(request).id }))
 * await app.listen({ port: 8080 })
 */
export const auth = fp(callsignPlugin, { name: '@callsign/fastify', fastify: '5.x' })
