import { Agent, createServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { createPipeline, definePolicy, type TlsPeer } from '@callsign/core'
import { createDevCa, issueServiceCertificate, mtlsVerifier } from '@callsign/mtls'
import { measure, table } from './support/measure.js'
import { tlsGuarded } from './support/tls-guarded.js'

/**
 * mTLS per-request cost on an established connection: the identity is worked out once per
 * connection, so each request pays a WeakMap lookup and two time comparisons.
 */
export async function run(): Promise<string> {
  const ca = createDevCa({ trustDomain: 'mesh.local' })
  const server = issueServiceCertificate({
    ca,
    spiffeId: 'spiffe://mesh.local/ns/prod/sa/orders',
    ipAddresses: ['127.0.0.1'],
  })
  const client = issueServiceCertificate({ ca, spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing' })
  const tls = { ca: ca.cert, cert: server.cert, key: server.key, requestCert: true, rejectUnauthorized: true }
  const verifier = mtlsVerifier({ identity: 'spiffe', trustDomains: { 'mesh.local': { ca: ca.cert } } })
  const pipeline = createPipeline({
    policy: definePolicy({
      routes: { 'GET /orders': ['orders:read'] },
      grants: { 'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read'] },
    }),
    verifiers: [verifier],
  })
  const peerOf = (socket: TLSSocket): TlsPeer => ({
    authorized: socket.authorized,
    peerCertificateChain: () => {
      const leaf = socket.getPeerCertificate()?.raw
      return leaf ? [leaf] : []
    },
    connection: socket,
  })

  let lastSocket: TLSSocket | undefined
  const plain = createServer(tls, (req, res) => {
    lastSocket = req.socket as TLSSocket
    res.end('ok')
  })
  const guarded = createServer(tls, tlsGuarded(pipeline, peerOf))
  const urlOf = async (s: Server) => {
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
    return `https://127.0.0.1:${(s.address() as AddressInfo).port}/orders`
  }
  const plainUrl = await urlOf(plain)
  const guardedUrl = await urlOf(guarded)
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, cert: client.cert, key: client.key })
  const get = (url: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
        res.resume().on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })

  const http = await measure(
    [
      ['plain mTLS server, no auth', () => get(plainUrl)],
      ['mTLS server + pipeline + mtlsVerifier', () => get(guardedUrl)],
    ],
    { iterations: 1_000, rounds: 21, warmup: 1_000 },
  )

  // The verifier alone, on a real server-side socket of an established connection.
  await get(plainUrl)
  const peer = peerOf(lastSocket!)
  const request_ = {
    transport: 'http' as const,
    method: 'GET',
    route: '/orders',
    header: () => [],
    tls: peer,
  }
  const noop = {
    verify() {
      return null
    },
  }
  const alone = await measure(
    [
      ['no-op verifier (returns null)', () => noop.verify()],
      ['mtlsVerifier.verify (established connection)', () => verifier.verify(request_)],
      ['pipeline.decide with mtlsVerifier', () => pipeline.decide(request_)],
    ],
    { iterations: 50_000, rounds: 7 },
  )
  agent.destroy()
  plain.closeAllConnections()
  guarded.closeAllConnections()
  plain.close()
  guarded.close()

  const base = http[0]!.median
  const extraUs = ((http[1]!.median - base) / 1000).toFixed(1)
  const verifyUs = ((alone[1]!.median - alone[0]!.median) / 1000).toFixed(2)
  return [
    '## mTLS verifier: per-request cost on an established connection',
    '',
    'HTTPS GET over one keep-alive mTLS connection (client certificate from the development CA), sequential:',
    '',
    table(http, 'plain mTLS server, no auth'),
    '',
    `Added per request by the pipeline with the mTLS verifier: ${extraUs} µs (median difference).`,
    '',
    'The verifier in isolation (no network), the TlsPeer of a real established connection:',
    '',
    table(alone, 'no-op verifier (returns null)'),
    '',
    `mtlsVerifier.verify on an established connection costs ${verifyUs} µs over a no-op verifier and answers`,
    'synchronously, so `decide` does too. The identity is worked out once per connection (chain parse, SAN and',
    'SPIFFE checks, SHA-256), then looked up.',
  ].join('\n')
}
