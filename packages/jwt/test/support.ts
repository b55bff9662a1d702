import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AuthRequest, Clock, TlsPeer } from '@callsign/core'
import { type JwtVerifier, type JwtVerifierOptions, jwtVerifier } from '../src/index.js'

/** A clock tests move by hand. */
export function manualClock(
  start = Date.UTC(2026, 0, 1),
): Clock & { advance(seconds: number): void; set(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance: (seconds) => {
      now += seconds * 1000
    },
    set: (ms) => {
      now = ms
    },
  }
}

/** An AuthRequest carrying the given Authorization header value(s). */
export function requestWith(authorization?: string | string[], tls?: TlsPeer): AuthRequest {
  const values =
    authorization === undefined ? [] : Array.isArray(authorization) ? authorization : [authorization]
  return {
    transport: 'http',
    method: 'GET',
    route: '/orders/:id',
    header: (name) => (name === 'authorization' ? values : []),
    ...(tls ? { tls } : {}),
  }
}

export function tlsPeer(der: Uint8Array, authorized = true): TlsPeer {
  return { authorized, peerCertificateChain: () => [der], connection: {} }
}

export function thumbprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url')
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Signs a compact JWS by hand, so a test can build any header, including hostile ones. */
export function signRaw(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  key: KeyObject,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  const alg = header.alg
  const signature =
    alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : alg === 'EdDSA'
        ? sign(null, Buffer.from(input), key)
        : sign('sha256', Buffer.from(input), key)
  return `${input}.${signature.toString('base64url')}`
}

export function es256Pair(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = {
    ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
    kid,
    alg: 'ES256',
    use: 'sig',
  }
  return { privateKey, publicKey, jwk }
}

export type JwksMode = 'ok' | 'status500' | 'garbage' | 'huge' | 'hugeChunked' | 'slow'

/** A real JWKS and OIDC discovery server on 127.0.0.1, with switchable faults. */
export async function jwksServer(initial: { keys: unknown[] }) {
  const state = { jwks: initial, mode: 'ok' as JwksMode, jwksRequests: 0, discoveryRequests: 0, issuer: '' }
  const hanging = new Set<ServerResponse>()
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/.well-known/openid-configuration') {
      state.discoveryRequests++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ issuer: state.issuer, jwks_uri: `${state.issuer}/jwks.json` }))
      return
    }
    if (req.url !== '/jwks.json') {
      res.statusCode = 404
      res.end()
      return
    }
    state.jwksRequests++
    switch (state.mode) {
      case 'status500':
        res.statusCode = 500
        res.end('{"error":"boom"}')
        return
      case 'garbage':
        res.end('<html>not json')
        return
      case 'huge':
        res.setHeader('content-type', 'application/json')
        res.end(`{"keys":[],"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`)
        return
      case 'hugeChunked': {
        // no content-length: the limit must be enforced while streaming
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"keys":[],"pad":"')
        const chunk = 'x'.repeat(64 * 1024)
        let sent = 0
        const pump = () => {
          while (sent < 64 && res.write(chunk)) sent++
          if (sent < 64) res.once('drain', pump)
          else res.end('"}')
        }
        res.on('error', () => {})
        pump()
        return
      }
      case 'slow':
        hanging.add(res)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"keys":') // and never finishes
        return
      default:
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(state.jwks))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  state.issuer = `http://127.0.0.1:${port}`
  return {
    state,
    issuer: state.issuer,
    jwksUri: `${state.issuer}/jwks.json`,
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * A verifier for the audience `orders` of the tokens `server` issues, fetching its keys from the
 * server's JWKS URL, on a manual clock; `options` adds to or changes that.
 */
export function jwksVerifier(
  server: { readonly issuer: string; readonly jwksUri: string },
  options: Partial<JwtVerifierOptions> = {},
): { verifier: JwtVerifier; clock: ReturnType<typeof manualClock> } {
  const clock = manualClock()
  const verifier = jwtVerifier({
    issuer: server.issuer,
    audience: 'orders',
    jwksUri: server.jwksUri,
    clock,
    ...options,
  } as JwtVerifierOptions)
  return { verifier, clock }
}
