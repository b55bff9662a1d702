/**
 * The containers' health check: `healthcheck.ts <url>` exits 0 when the URL answers 200 (HTTPS
 * trusts NODE_EXTRA_CA_CERTS), `healthcheck.ts tcp:<host>:<port>` when the port accepts a connection.
 */
import { connect } from 'node:net'

const target = process.argv[2] ?? ''
const healthy = target.startsWith('tcp:')
  ? await new Promise<boolean>((resolve) => {
      const [host, port] = target.slice(4).split(':')
      const socket = connect(Number(port), host, () => {
        socket.end()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
  : await fetch(target, { signal: AbortSignal.timeout(3000) }).then(
      (response) => response.status === 200,
      () => false,
    )
process.exitCode = healthy ? 0 : 1
