import {
  authorizeId,
  authorizeMemberOf,
  authorizeOneOf,
  authorizePathPrefix,
  parseSpiffeId,
  SpiffeIdError,
} from '@callsign/mtls'
import { describe, expect, it } from 'vitest'

describe('parseSpiffeId', () => {
  it('parses the trust domain, path and segments of a valid ID', () => {
    expect(parseSpiffeId('spiffe://mesh.local/ns/prod/sa/billing')).toEqual({
      id: 'spiffe://mesh.local/ns/prod/sa/billing',
      trustDomain: 'mesh.local',
      path: '/ns/prod/sa/billing',
      segments: ['ns', 'prod', 'sa', 'billing'],
    })
    expect(parseSpiffeId('spiffe://td').path).toBe('')
    expect(parseSpiffeId('spiffe://a_b-c.9/A.b-C_9').segments).toEqual(['A.b-C_9'])
  })

  it.each([
    ['SPIFFE://mesh.local/x', 'scheme'],
    ['https://mesh.local/x', 'scheme'],
    ['spiffe:/mesh.local/x', 'scheme'],
    ['spiffe:///x', 'empty_trust_domain'],
    ['spiffe://Mesh.local/x', 'trust_domain_characters'],
    ['spiffe://mesh%2elocal/x', 'trust_domain_characters'],
    ['spiffe://mesh.local:8443/x', 'port'],
    ['spiffe://user@mesh.local/x', 'userinfo'],
    ['spiffe://mesh.local/x?y=1', 'query'],
    ['spiffe://mesh.local/x#y', 'fragment'],
    ['spiffe://mesh.local/a//b', 'empty_segment'],
    ['spiffe://mesh.local/a/', 'trailing_slash'],
    ['spiffe://mesh.local/', 'trailing_slash'],
    ['spiffe://mesh.local/a/./b', 'dot_segment'],
    ['spiffe://mesh.local/a/../b', 'dot_segment'],
    ['spiffe://mesh.local/a%20b', 'path_characters'],
    ['spiffe://mesh.local/caf\u00e9', 'path_characters'],
    [`spiffe://${'a'.repeat(256)}/x`, 'trust_domain_too_long'],
    [`spiffe://mesh.local/${'a'.repeat(2048)}`, 'too_long'],
  ])('rejects %s (rule %s)', (value, rule) => {
    const error = (() => {
      try {
        parseSpiffeId(value)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(SpiffeIdError)
    expect((error as SpiffeIdError).rule).toBe(rule)
  })

  it('accepts an ID of exactly 2048 bytes and rejects one of 2049', () => {
    const base = 'spiffe://mesh.local/'
    expect(() => parseSpiffeId(base + 'a'.repeat(2048 - base.length))).not.toThrow()
    expect(() => parseSpiffeId(base + 'a'.repeat(2049 - base.length))).toThrow(SpiffeIdError)
  })
})

describe('SPIFFE authorizers', () => {
  const id = (value: string) => parseSpiffeId(value)

  it('authorizeId accepts exactly one ID', () => {
    const check = authorizeId('spiffe://td/ns/app')
    expect(check(id('spiffe://td/ns/app'))).toBe(true)
    expect(check(id('spiffe://td/ns/app/x'))).toBe(false)
    expect(check(id('spiffe://other/ns/app'))).toBe(false)
  })

  it('authorizeOneOf accepts the listed IDs only', () => {
    const check = authorizeOneOf(['spiffe://td/a', 'spiffe://td/b'])
    expect([check(id('spiffe://td/a')), check(id('spiffe://td/b')), check(id('spiffe://td/c'))]).toEqual([
      true,
      true,
      false,
    ])
  })

  it('authorizeMemberOf accepts every ID of one trust domain, not of a domain with the same suffix', () => {
    const check = authorizeMemberOf('mesh.local')
    expect(check(id('spiffe://mesh.local/any/thing'))).toBe(true)
    expect(check(id('spiffe://evil-mesh.local/any'))).toBe(false)
    expect(check(id('spiffe://mesh.local.evil/any'))).toBe(false)
  })

  it('authorizePathPrefix matches on segment boundaries: spiffe://td/ns/app does not match spiffe://td/ns/app-admin', () => {
    const check = authorizePathPrefix('spiffe://td/ns/app')
    expect(check(id('spiffe://td/ns/app'))).toBe(true)
    expect(check(id('spiffe://td/ns/app/worker'))).toBe(true)
    expect(check(id('spiffe://td/ns/app-admin'))).toBe(false)
    expect(check(id('spiffe://td/ns/ap'))).toBe(false)
    expect(check(id('spiffe://td/ns'))).toBe(false)
    expect(check(id('spiffe://other/ns/app'))).toBe(false)
  })

  it('takes a caller id as a string too (a policy grant\'s "to"), and never accepts a string that is no SPIFFE ID', () => {
    expect(authorizeId('spiffe://td/ns/app')('spiffe://td/ns/app')).toBe(true)
    expect(authorizeOneOf(['spiffe://td/a'])('spiffe://td/a')).toBe(true)
    expect(authorizeMemberOf('td')('spiffe://td/x')).toBe(true)
    expect(authorizePathPrefix('spiffe://td/ns/app')('spiffe://td/ns/app/worker')).toBe(true)
    expect(authorizePathPrefix('spiffe://td/ns/app')('spiffe://td/ns/app-admin')).toBe(false)
    for (const notSpiffe of ['td', 'orders', 'spiffe://TD/x', 'https://td/ns/app', '']) {
      expect(authorizeMemberOf('td')(notSpiffe)).toBe(false)
      expect(authorizePathPrefix('spiffe://td/ns')(notSpiffe)).toBe(false)
    }
  })

  it('throws ConfigError at startup for a malformed ID or trust domain', () => {
    expect(() => authorizeId('spiffe://TD/x')).toThrow(/authorizeId: .* is not a valid SPIFFE ID/)
    expect(() => authorizePathPrefix('spiffe://td/a/')).toThrow(/not a valid SPIFFE ID/)
    expect(() => authorizeOneOf([])).toThrow(/at least one/)
    expect(() => authorizeMemberOf('spiffe://td')).toThrow(/not a valid trust domain/)
  })
})
