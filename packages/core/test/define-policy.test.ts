import { describe, expect, it } from 'vitest'
import { ConfigError, definePolicy } from '../src/index.js'

describe('definePolicy', () => {
  const policy = definePolicy({
    routes: {
      'GET /orders/:id': ['orders:read'],
      'post /orders': ['orders:write', 'orders:read'],
      'GET /healthz': 'public',
      '/shop.v1.Inventory/Reserve': ['inventory:reserve'],
    },
    grants: { 'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read'] },
  })

  it('answers the requirement of a matched HTTP route', () => {
    expect(policy.requirement('http', 'GET', '/orders/:id')).toEqual({
      key: 'GET /orders/:id',
      public: false,
      scopes: ['orders:read'],
    })
  })

  it('normalizes the method of a key to upper case', () => {
    expect(policy.requirement('http', 'POST', '/orders')?.scopes).toEqual(['orders:write', 'orders:read'])
  })

  it('marks public routes public, with no scopes', () => {
    expect(policy.requirement('http', 'GET', '/healthz')).toMatchObject({ public: true, scopes: [] })
  })

  it('governs HEAD by the GET entry', () => {
    expect(policy.requirement('http', 'HEAD', '/orders/:id')?.scopes).toEqual(['orders:read'])
    expect(policy.requirement('http', 'HEAD', '/orders')).toBeUndefined()
  })

  it('has no entry for an unmapped route, method or transport', () => {
    expect(policy.requirement('http', 'DELETE', '/orders/:id')).toBeUndefined()
    expect(policy.requirement('http', 'GET', '/orders/:id/')).toBeUndefined()
    expect(policy.requirement('http', 'GET', '/Orders/:id')).toBeUndefined()
    expect(policy.requirement('grpc', 'POST', '/shop.v1.Inventory/Release')).toBeUndefined()
    expect(policy.requirement('http', 'POST', '/shop.v1.Inventory/Reserve')).toBeUndefined()
  })

  it('answers gRPC method paths', () => {
    expect(policy.requirement('grpc', 'POST', '/shop.v1.Inventory/Reserve')?.scopes).toEqual([
      'inventory:reserve',
    ])
  })

  it('gives the grants of a caller, and none to a stranger', () => {
    expect([...policy.grantsFor('spiffe://mesh.local/ns/prod/sa/billing')]).toEqual(['orders:read'])
    expect(policy.grantsFor('spiffe://mesh.local/ns/prod/sa/intruder').size).toBe(0)
    expect(policy.grantsFor('__proto__').size).toBe(0)
  })

  describe('pattern grants', () => {
    const patterns = definePolicy({
      routes: {},
      grants: [
        { to: 'spiffe://mesh.local/ns/prod/sa/billing', scopes: ['billing:charge'] },
        { to: 'spiffe://mesh.local/ns/prod/*', scopes: ['orders:read'] },
        { to: (id) => id.endsWith('/sa/billing'), scopes: ['orders:read', 'orders:refund'] },
      ],
    })

    it('gives a caller the union of every grant that matches it: exact id, pattern and predicate', () => {
      expect([...patterns.grantsFor('spiffe://mesh.local/ns/prod/sa/billing')].sort()).toEqual([
        'billing:charge',
        'orders:read',
        'orders:refund',
      ])
      expect([...patterns.grantsFor('spiffe://mesh.local/ns/prod/sa/shipping')]).toEqual(['orders:read'])
    })

    it('matches a "/*" pattern on whole segments, below the prefix only', () => {
      expect(patterns.grantsFor('spiffe://mesh.local/ns/prod').size).toBe(0)
      expect(patterns.grantsFor('spiffe://mesh.local/ns/prod/').size).toBe(0)
      expect(patterns.grantsFor('spiffe://mesh.local/ns/prod-admin/sa/x').size).toBe(0)
      expect(patterns.grantsFor('spiffe://mesh.local/ns/staging/sa/billing')).toEqual(
        new Set(['orders:read', 'orders:refund']),
      )
    })

    it('reads patterns in the record form too (a policy file)', () => {
      const record = definePolicy({
        routes: {},
        grants: { 'spiffe://mesh.local/ns/prod/*': ['orders:read'] },
      })
      expect([...record.grantsFor('spiffe://mesh.local/ns/prod/sa/a')]).toEqual(['orders:read'])
      expect(record.grantsFor('spiffe://mesh.local/ns/dev/sa/a').size).toBe(0)
    })

    it('grants nothing when a predicate answers anything but true', () => {
      const loose = definePolicy({ routes: {}, grants: [{ to: (() => 'yes') as never, scopes: ['a:b'] }] })
      expect(loose.grantsFor('anyone').size).toBe(0)
    })
  })

  it('reports registered routes without an entry and entries that match nothing', () => {
    const coverage = policy.coverage([
      'GET /orders/:id',
      'HEAD /orders/:id',
      'DELETE /orders/:id',
      'GET /healthz',
    ])
    expect(coverage.missing).toEqual(['DELETE /orders/:id'])
    expect(coverage.unused).toEqual(['/shop.v1.Inventory/Reserve', 'POST /orders'])
  })

  it.each([
    [{ routes: { 'FETCH /x': ['a:b'] } }, 'unknown method "FETCH"'],
    [{ routes: { 'HEAD /x': ['a:b'] } }, 'HEAD is governed by the GET entry'],
    [{ routes: { 'GET x': ['a:b'] } }, '"GET x" is malformed'],
    [{ routes: { 'GET /x?y=1': ['a:b'] } }, '"GET /x?y=1" is malformed'],
    [{ routes: { '/NoService': ['a:b'] } }, '"/NoService" is malformed'],
    [{ routes: { 'GET /x': [] } }, '"GET /x" has an empty scope list'],
    [{ routes: { 'GET /x': ['bad scope!'] } }, 'malformed scope "bad scope!"'],
    [{ routes: { 'GET /x': ['orders'] } }, 'malformed scope "orders"'],
    [{ routes: { 'GET /x': ['orders:*'] } }, 'malformed scope "orders:*"'],
    [{ routes: { 'GET /x': 'open' } }, '"GET /x" must be \'public\' or a list of scopes'],
    [{ routes: { 'GET /x': ['a:b', 'a:b'] } }, 'lists the scope "a:b" twice'],
    [{ routes: { 'GET /x': ['a:b'], 'get /x': ['a:c'] } }, '"get /x" duplicates "GET /x"'],
    [{ routes: {}, grants: { billing: [] } }, 'grant "billing" has an empty scope list'],
    [{ routes: {}, grants: { 'two words': ['a:b'] } }, 'grant "two words" is not a valid caller id'],
    [{ routes: {}, grant: {} }, 'unknown field "grant"'],
    [{ routes: {}, grants: 'billing' }, 'policy.grants must be an object (caller id → scopes) or a list'],
    [
      { routes: {}, grants: { 'spiffe://td/ns/*/sa': ['a:b'] } },
      'a pattern is a caller id path ending in "/*"',
    ],
    [{ routes: {}, grants: { '*': ['a:b'] } }, 'a pattern is a caller id path ending in "/*"'],
    [{ routes: {}, grants: { 'spiffe://td/ns*': ['a:b'] } }, 'a pattern is a caller id path ending in "/*"'],
    [
      {
        routes: {},
        grants: [
          { to: 'a', scopes: ['a:b'] },
          { to: 'a', scopes: ['a:c'] },
        ],
      },
      '"a" is granted twice',
    ],
    [{ routes: {}, grants: [{ to: 42, scopes: ['a:b'] }] }, 'grant [0] is not a valid caller id'],
    [{ routes: {}, grants: [{ to: (): boolean => true }] }, 'grant [0]: "scopes" must be a list of scopes'],
    [
      { routes: {}, grants: { billing: 'orders:read' } },
      'grant "billing": "scopes" must be a list of scopes',
    ],
    [{ routes: {}, grants: [{ to: (): boolean => true, scopes: [] }] }, 'grant [0] has an empty scope list'],
    [
      { routes: {}, grants: [{ to: 'a', scopes: ['a:b'], kind: 'mtls' }] },
      'grant [0] has an unknown field "kind"',
    ],
    [{ routes: {}, grants: ['a'] }, 'grant [0] must be { to, scopes }'],
    [{}, 'policy.routes must be an object'],
    [null, 'policy must be an object'],
  ])('rejects an invalid policy at startup: %j', (input, message) => {
    expect(() => definePolicy(input as never)).toThrow(ConfigError)
    expect(() => definePolicy(input as never)).toThrow(message)
  })
})
