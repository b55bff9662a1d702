import { type AttackRow, runAttackTable } from './support/attack-table.js'
import { ext, SPIFFE_READER } from './support/credentials.js'

// Header tricks: duplicates, name and scheme case, whitespace, oversized values, non-ASCII, and
// several credentials at once, through every adapter to the real verifiers.

type Pairs = [string, string][]
const invalid = { code: 'ERR_INVALID_CREDENTIAL' } as const

const rows: AttackRow[] = [
  {
    name: 'control: header name AUTHORIZATION in upper case',
    only: ['express', 'fastify'],
    request: (c) => ({ headers: [['AUTHORIZATION', `Bearer ${c.keys.reader}`]] }),
    expect: { allow: 'key-reader' },
  },
  {
    name: 'control: scheme BEARER in upper case',
    request: (c) => ({ headers: [['authorization', `BEARER ${c.jwt.token()}`]] }),
    expect: { allow: 'jwt-reader' },
  },
  {
    name: 'two Authorization headers with the same JWT',
    only: ['express', 'fastify'], // grpc-js and node:http2 refuse to send two authorization values
    request: (c) => {
      const token = c.jwt.token()
      return {
        headers: [
          ['authorization', `Bearer ${token}`],
          ['Authorization', `Bearer ${token}`],
        ] as Pairs,
      }
    },
    expect: { code: 'ERR_AMBIGUOUS_REQUEST' },
  },
  {
    name: 'an empty Authorization and a valid one',
    only: ['express', 'fastify'],
    request: (c) => ({
      headers: [
        ['authorization', ''],
        ['authorization', `Bearer ${c.keys.reader}`],
      ] as Pairs,
    }),
    expect: { code: 'ERR_AMBIGUOUS_REQUEST' },
  },
  {
    name: 'Bearer with two spaces before a JWT',
    request: (c) => ({ headers: [['authorization', `Bearer  ${c.jwt.token()}`]] }),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'Bearer with two spaces before a key',
    request: (c) => ({ headers: [['authorization', `Bearer  ${c.keys.reader}`]] }),
    expect: invalid,
  },
  {
    name: 'Bearer and a tab before a key',
    only: ['express', 'fastify'],
    request: (c) => ({ headers: [['authorization', `Bearer\t${c.keys.reader}`]] }),
    expect: invalid,
  },
  {
    name: 'a JWT with a space inside',
    request: (c) => ({ headers: [['authorization', `Bearer ${c.jwt.token().replace('.', '. ')}`]] }),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'a bare Bearer scheme with no token',
    request: () => ({ headers: [['authorization', 'Bearer']] }),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'an unknown scheme (Digest)',
    request: () => ({ headers: [['authorization', 'Digest username="admin"']] }),
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'a Latin-1 byte in Authorization',
    only: ['express', 'fastify'], // grpc-js refuses to send non-ASCII metadata
    request: (c) => ({ headers: [['authorization', `Bearer ${c.jwt.token()}\u00ff`]] }),
    // not token68, so neither verifier claims it
    expect: { code: 'ERR_NO_CREDENTIAL' },
  },
  {
    name: 'an Authorization value of 12 KB',
    request: () => ({ headers: [['authorization', `Bearer ${'a'.repeat(6000)}.${'b'.repeat(6000)}.c`]] }),
    expect: invalid,
  },
  {
    name: 'an Authorization value of 20 KB',
    request: (c) => ({ headers: [['authorization', `Bearer ${c.jwt.token({ pad: 'x'.repeat(20_000) })}`]] }),
    expect: {
      express: { status: 431, why: "Node's header size limit" },
      fastify: { status: 431, why: "Node's header size limit" },
      grpc: { code: 'ERR_INVALID_CREDENTIAL' },
    },
  },
  {
    name: 'a key in x-api-key and a JWT in Authorization',
    request: (c) => ({
      headers: [
        ['x-api-key', c.keys.reader],
        ['authorization', `Bearer ${c.jwt.token()}`],
      ] as Pairs,
    }),
    expect: { code: 'ERR_AMBIGUOUS_REQUEST' },
  },
  {
    name: 'a valid client certificate and a valid JWT',
    request: (c) => ({
      cert: c.cert('both', ext(`URI:${SPIFFE_READER}`)),
      headers: [['authorization', `Bearer ${c.jwt.token()}`]],
    }),
    expect: { code: 'ERR_AMBIGUOUS_REQUEST' },
  },
  {
    name: 'a valid client certificate and a valid API key',
    request: (c) => ({
      cert: c.cert('both', ext(`URI:${SPIFFE_READER}`)),
      headers: [['x-api-key', c.keys.reader]],
    }),
    expect: { code: 'ERR_AMBIGUOUS_REQUEST' },
  },
  {
    name: 'a valid client certificate and a revoked API key',
    request: (c) => ({
      cert: c.cert('both', ext(`URI:${SPIFFE_READER}`)),
      headers: [['x-api-key', c.keys.revoked]],
    }),
    expect: invalid,
  },
]

runAttackTable('header attacks', rows)
