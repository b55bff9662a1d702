import { type AttackRow, runAttackTable } from './support/attack-table.js'
import type { SecurityCredentials } from './support/credentials.js'

// Routing tricks: case, slashes, encodings, path parameters, HEAD, method override, mounted routers
// and gRPC method paths. Each adapter decides on the route its framework will dispatch, so where
// the frameworks differ (Express matches case-insensitively, Fastify does not) the row says so; in
// no case does a handler run without the requirement of the route it belongs to. The per-adapter
// bypass tables are packages/express/test/auth.test.ts and packages/fastify/test/auth.test.ts.

type Pairs = [string, string][]
const http = ['express', 'fastify'] as const
const reader = (c: SecurityCredentials): Pairs => [['authorization', `Bearer ${c.keys.reader}`]]
const anon = { code: 'ERR_NO_CREDENTIAL' } as const
const scope = { code: 'ERR_INSUFFICIENT_SCOPE' } as const
const notFound = { status: 404, why: 'no such route' } as const
const unimplemented = { status: 12, why: 'UNIMPLEMENTED: grpc-js has no such method' } as const

const rows: AttackRow[] = [
  { name: 'anonymous GET /orders/42', only: http, request: () => ({ path: '/orders/42' }), expect: anon },
  {
    name: 'anonymous HEAD /orders/42 (governed by GET)',
    only: http,
    request: () => ({ method: 'HEAD', path: '/orders/42' }),
    expect: { status: 401, why: 'HEAD: no body to carry the code' },
  },
  {
    name: 'control: a reader HEAD /orders/42',
    only: ['fastify'],
    request: (c) => ({ method: 'HEAD', path: '/orders/42', headers: reader(c) }),
    expect: { allow: null },
  },
  {
    name: 'anonymous GET /ORDERS/42',
    only: http,
    request: () => ({ path: '/ORDERS/42' }),
    expect: { express: anon, fastify: notFound },
  },
  {
    name: 'anonymous GET /orders/42/ (trailing slash)',
    only: http,
    request: () => ({ path: '/orders/42/' }),
    expect: { express: anon, fastify: notFound },
  },
  {
    name: 'anonymous GET //orders/42',
    only: http,
    request: () => ({ path: '//orders/42' }),
    expect: { express: notFound, fastify: notFound },
  },
  {
    name: 'anonymous GET /orders/%34%32 (encoded parameter)',
    only: http,
    request: () => ({ path: '/orders/%34%32' }),
    expect: anon,
  },
  {
    name: 'anonymous GET /%6Frders/42 (encoded literal)',
    only: http,
    request: () => ({ path: '/%6Frders/42' }),
    expect: { express: notFound, fastify: anon },
  },
  {
    name: 'anonymous GET /orders/42;jsessionid=x',
    only: http,
    request: () => ({ path: '/orders/42;jsessionid=x' }),
    expect: anon,
  },
  {
    name: 'anonymous GET /orders/..%2Fhealthz (encoded traversal in a parameter)',
    only: http,
    request: () => ({ path: '/orders/..%2Fhealthz' }),
    expect: anon,
  },
  {
    name: 'anonymous GET /healthz/../orders/42 (unnormalized traversal)',
    only: http,
    request: () => ({ path: '/healthz/../orders/42' }),
    expect: notFound,
  },
  {
    name: 'anonymous GET /orders/42?/healthz (public path in the query)',
    only: http,
    request: () => ({ path: '/orders/42?/healthz' }),
    expect: anon,
  },
  {
    name: 'anonymous GET /orders/42#/healthz',
    only: http,
    request: () => ({ path: '/orders/42%23/healthz' }),
    expect: notFound,
  },
  // Express answers OPTIONS itself with 200 and an Allow list (no handler runs): reported in SECURITY.md
  {
    name: 'anonymous OPTIONS /orders/42',
    only: ['fastify'],
    request: () => ({ method: 'OPTIONS', path: '/orders/42' }),
    expect: notFound,
  },
  {
    name: 'anonymous TRACE /orders/42',
    only: http,
    request: () => ({ method: 'TRACE', path: '/orders/42' }),
    expect: notFound,
  },
  {
    name: 'control: public GET /healthz',
    only: http,
    request: () => ({ path: '/healthz' }),
    expect: { allow: null },
  },
  {
    name: 'a reader DELETE /orders/42',
    only: http,
    request: (c) => ({ method: 'DELETE', path: '/orders/42', headers: reader(c) }),
    expect: scope,
  },
  {
    name: 'a reader POST /orders/42 overridden to DELETE (X-HTTP-Method-Override)',
    only: http,
    request: (c) => ({
      method: 'POST',
      path: '/orders/42',
      headers: [...reader(c), ['x-http-method-override', 'DELETE']],
    }),
    expect: { express: scope, fastify: notFound },
  },
  {
    name: 'a reader POST /orders overridden to GET',
    only: http,
    request: (c) => ({
      method: 'POST',
      path: '/orders',
      headers: [...reader(c), ['x-http-method-override', 'GET']],
    }),
    expect: scope,
  },
  {
    name: 'a reader GET /api/reports (mounted router, needs orders:write)',
    only: http,
    request: (c) => ({ path: '/api/reports', headers: reader(c) }),
    expect: scope,
  },
  {
    name: 'a reader GET /API/Reports',
    only: http,
    request: (c) => ({ path: '/API/Reports', headers: reader(c) }),
    expect: { express: scope, fastify: notFound },
  },
  {
    name: 'a reader GET /api//reports',
    only: http,
    request: (c) => ({ path: '/api//reports', headers: reader(c) }),
    expect: notFound,
  },
  {
    name: 'a reader GET /api/reports/ (trailing slash)',
    only: http,
    request: (c) => ({ path: '/api/reports/', headers: reader(c) }),
    expect: { express: scope, fastify: notFound },
  },
  { name: 'anonymous GET /api/reports', only: http, request: () => ({ path: '/api/reports' }), expect: anon },
  {
    name: 'a writer on a registered route missing from the policy',
    only: http,
    request: (c) => ({ path: '/unmapped', headers: [['authorization', `Bearer ${c.keys.writer}`]] }),
    expect: { code: 'ERR_ROUTE_NOT_IN_POLICY' },
  },
  // gRPC method paths
  { name: 'anonymous /contract.v1.Orders/Get', only: ['grpc'], request: () => ({}), expect: anon },
  {
    name: 'a reader /contract.v1.Orders/Create',
    only: ['grpc'],
    request: (c) => ({ path: '/contract.v1.Orders/Create', headers: reader(c) }),
    expect: scope,
  },
  {
    name: 'a writer /contract.v1.Orders/Unmapped (method not in the policy)',
    only: ['grpc'],
    request: (c) => ({
      path: '/contract.v1.Orders/Unmapped',
      headers: [['authorization', `Bearer ${c.keys.writer}`]],
    }),
    expect: { code: 'ERR_ROUTE_NOT_IN_POLICY' },
  },
  {
    name: 'anonymous /contract.v1.Orders/get (method case)',
    only: ['grpc'],
    request: () => ({ path: '/contract.v1.Orders/get' }),
    expect: unimplemented,
  },
  {
    name: 'anonymous /contract.v1.orders/Get (service case)',
    only: ['grpc'],
    request: () => ({ path: '/contract.v1.orders/Get' }),
    expect: unimplemented,
  },
  {
    name: 'anonymous /contract.v1.Orders/Get/ (trailing slash)',
    only: ['grpc'],
    request: () => ({ path: '/contract.v1.Orders/Get/' }),
    expect: unimplemented,
  },
  {
    name: 'anonymous //contract.v1.Orders/Get',
    only: ['grpc'],
    request: () => ({ path: '//contract.v1.Orders/Get' }),
    expect: unimplemented,
  },
  {
    name: 'anonymous /contract.v1.Orders/Health/../Get',
    only: ['grpc'],
    request: () => ({ path: '/contract.v1.Orders/Health/../Get' }),
    expect: unimplemented,
  },
  {
    name: 'a reader /contract.v1.Orders/Create%00',
    only: ['grpc'],
    request: (c) => ({ path: '/contract.v1.Orders/Create%00', headers: reader(c) }),
    expect: unimplemented,
  },
  {
    name: 'control: public /contract.v1.Orders/Health',
    only: ['grpc'],
    request: () => ({ path: '/contract.v1.Orders/Health' }),
    expect: { allow: null },
  },
]

runAttackTable('routing attacks', rows)
