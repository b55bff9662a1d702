/**
 * The containers' health check: `healthcheck.js <url>` exits 0 when the URL answers 200 (HTTPS
 * trusts NODE_EXTRA_CA_CERTS), `healthcheck.js grpc:<host>:<port>` when inventory's public Health
 * method answers OK over TLS (trusting TLS_CA).
 */
import { readFileSync } from 'node:fs'
import { grpc } from './lib/calls.js'

const target = process.argv[2] ?? ''
const healthy = target.startsWith('grpc:')
  ? await grpc(target.slice(5), 'health', { ca: readFileSync(process.env.TLS_CA ?? '') }).then(
      (outcome) => outcome.status === 'OK',
      () => false,
    )
  : await fetch(target, { signal: AbortSignal.timeout(3000) }).then(
      (response) => response.status === 200,
      () => false,
    )
process.exit(healthy ? 0 : 1)
