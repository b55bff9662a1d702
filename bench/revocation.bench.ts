import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { Agent, createServer, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPipeline, definePolicy } from '@callsign/core'
import { tlsPeerFromSocket } from '@callsign/core/adapter'
import {
  createDevCa,
  createRevocationList,
  issueServiceCertificate,
  mtlsVerifier,
  tlsServerOptions,
} from '@callsign/mtls'
import { cliCommand } from '../test/support/run-cli.js'
import { tlsGuarded } from './support/tls-guarded.js'

const ROUNDS = Number(process.env.BENCH_REVOCATION_ROUNDS ?? 5)
const CLIENT = 'spiffe://mesh.local/ns/prod/sa/billing'

/**
 * Revocation latency: a client keeps one keep-alive HTTPS connection open and sends requests back
 * to back; `callsign certs revoke billing` (a real child process) writes the CA's CRL; the server's
 * tlsServerOptions picks it up with its file watcher (defaults: 500 ms poll, 50 ms debounce, plus
 * change events) and the next request on that connection is refused. Measured from the spawn of
 * the command, from the CRL file's write (its mtime) and from the command's exit, to the first refusal.
 */
export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'callsign-bench-revocation-'))
  const fromSpawn: number[] = []
  const fromExit: number[] = []
  const fromWrite: number[] = []
  try {
    const ca = createDevCa({ trustDomain: 'mesh.local' })
    const server = issueServiceCertificate({
      ca,
      spiffeId: 'spiffe://mesh.local/ns/prod/sa/orders',
      ipAddresses: ['127.0.0.1'],
    })
    mkdirSync(join(dir, 'ca'))
    mkdirSync(join(dir, 'crl'))
    mkdirSync(join(dir, 'orders'))
    mkdirSync(join(dir, 'billing'))
    writeFileSync(join(dir, 'ca', 'ca.crt'), ca.cert)
    writeFileSync(join(dir, 'ca', 'ca.key'), ca.key, { mode: 0o600 })
    writeFileSync(join(dir, 'crl', 'ca.crl'), createRevocationList({ ca, revoked: [] }))
    writeFileSync(join(dir, 'orders', 'tls.crt'), server.cert)
    writeFileSync(join(dir, 'orders', 'tls.key'), server.key)
    const serverTls = tlsServerOptions({
      ca: join(dir, 'ca', 'ca.crt'),
      cert: join(dir, 'orders', 'tls.crt'),
      key: join(dir, 'orders', 'tls.key'),
      crl: join(dir, 'crl', 'ca.crl'),
      clientCertificate: 'request',
    })
    const pipeline = createPipeline({
      policy: definePolicy({
        routes: { 'GET /orders': ['orders:read'] },
        grants: { [CLIENT]: ['orders:read'] },
      }),
      verifiers: [mtlsVerifier({ identity: 'spiffe', serverTls, trustDomains: ['mesh.local'] })],
    })
    const https = createServer(serverTls.options, tlsGuarded(pipeline, tlsPeerFromSocket))
    serverTls.attach(https)
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
    const { port } = https.address() as AddressInfo

    for (let round = 0; round < ROUNDS; round++) {
      const billing = issueServiceCertificate({ ca, spiffeId: CLIENT })
      writeFileSync(join(dir, 'billing', 'tls.crt'), billing.cert)
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, ...billing })
      const call = () =>
        new Promise<number>((resolve) => {
          const req = request({ host: '127.0.0.1', port, path: '/orders', agent }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          req.on('error', () => resolve(0)) // the server closed the connection: refused
          req.end()
        })
      if ((await call()) !== 200) throw new Error('bench: the fresh certificate was not accepted')
      const spawned = performance.now()
      let exited = Number.NaN
      const cli = spawn(
        cliCommand[0]!,
        [...cliCommand.slice(1), 'certs', 'revoke', 'billing', '--dir', dir],
        {
          stdio: 'ignore',
        },
      )
      cli.on('exit', () => {
        exited = performance.now()
      })
      while ((await call()) === 200) {
        // back to back on the open connection, until the first refusal
      }
      const refused = performance.now()
      const refusedAt = Date.now()
      if (Number.isNaN(exited)) await new Promise((resolve) => cli.on('exit', resolve))
      fromSpawn.push(refused - spawned)
      fromExit.push(refused - exited)
      fromWrite.push(refusedAt - statSync(join(dir, 'crl', 'ca.crl')).mtimeMs)
      agent.destroy()
    }
    serverTls.close()
    https.closeAllConnections()
    await new Promise((resolve) => https.close(resolve))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    const fmt = (ms: number) => `${Math.round(ms)} ms`
    return `${fmt(sorted[Math.floor(sorted.length / 2)]!)} | ${fmt(sorted[0]!)} – ${fmt(sorted.at(-1)!)}`
  }
  return [
    '## mTLS revocation latency: `callsign certs revoke` to the first refused request on an open connection',
    '',
    `${ROUNDS} rounds. One keep-alive HTTPS connection sends requests back to back; \`callsign certs revoke billing\``,
    'runs as a child process (tsx, from source); the server follows the CRL with its file watcher (defaults).',
    'Most of the time from the spawn is the command starting (tsx compiles it from source on a shared machine);',
    'from the write, it is the watcher and the reload. A negative "exit" figure: refused before the process exited.',
    '',
    '| measured from | median | min – max |',
    '| --- | --- | --- |',
    `| spawn of \`callsign certs revoke\` | ${stats(fromSpawn)} |`,
    `| the CRL file's write (its mtime) | ${stats(fromWrite)} |`,
    `| the command's exit | ${stats(fromExit)} |`,
  ].join('\n')
}
