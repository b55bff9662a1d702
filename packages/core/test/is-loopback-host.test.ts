import { isLoopbackHost } from '@callsign/core/adapter'
import { describe, expect, it } from 'vitest'

describe('isLoopbackHost', () => {
  it.each([
    'localhost',
    'LOCALHOST',
    '127.0.0.1',
    '127.8.9.10',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    '[::ffff:7f00:1]', // how a URL spells http://[::ffff:127.0.0.1]/
  ])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true)
  })

  it.each([
    '',
    '10.0.0.1',
    '128.0.0.1',
    '0.0.0.0',
    '::',
    '::ffff:10.0.0.1',
    'fe80::1',
    '127.0.0.1.example.com',
    'localhost.example.com',
    '[127.0.0.1]',
    '127.1', // a URL turns it into 127.0.0.1; as a bare host it is a name, never resolved here
  ])('%s is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false)
  })

  it('is the rule for plain-http URLs: http://[::ffff:127.0.0.1]/ counts, as a URL spells it', () => {
    expect(isLoopbackHost(new URL('http://[::ffff:127.0.0.1]:8080/jwks').hostname)).toBe(true)
    expect(isLoopbackHost(new URL('http://127.1/jwks').hostname)).toBe(true)
  })
})
