// An ESM TypeScript Fastify service, built from the packed tarballs, that accepts JWTs signed by
// keys `npx callsign jwks generate` made. It calls itself with a token that holds the route's scope
// and with one that does not, and prints what came back.
import { readFileSync } from 'node:fs'
import { definePolicy } from '@callsign/core'
import { auth, getCaller } from '@callsign/fastify'
import { jwtVerifier } from '@callsign/jwt'
import Fastify from 'fastify'

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const app = Fastify()
await app.register(auth, {
  policy: definePolicy({ routes: { 'GET /orders/:id': ['orders:read'] } }),
  verifiers: [
    jwtVerifier({
      issuer: 'https://issuer.test',
      audience: 'orders',
      keys: JSON.parse(readFileSync(env('JWKS_FILE'), 'utf8')),
    }),
  ],
})
app.get('/orders/:id', async (request) => ({
  caller: getCaller(request).id,
  scopes: [...getCaller(request).scopes],
}))
await app.ready()

const call = async (token: string) => {
  const response = await app.inject({ url: '/orders/42', headers: { authorization: `Bearer ${token}` } })
  return { status: response.statusCode, body: response.json() }
}
console.log(
  JSON.stringify({ allowed: await call(env('TOKEN_READ')), refused: await call(env('TOKEN_OTHER')) }),
)
await app.close()
