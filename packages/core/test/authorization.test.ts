import { describe, expect, it } from 'vitest'
import { bearerToken, bearerValue, singleAuthorization } from '../src/adapter.js'
import { type AuthRequest, isAuthError } from '../src/index.js'

const request = (...authorization: string[]): AuthRequest => ({
  transport: 'http',
  method: 'GET',
  route: '/x',
  header: (name) => (name === 'authorization' ? authorization : []),
})

describe('credential extraction, one place for every verifier', () => {
  it('reads the one Authorization header, and none as undefined', () => {
    expect(singleAuthorization(request('Bearer a'))).toBe('Bearer a')
    expect(singleAuthorization(request())).toBeUndefined()
  })

  it('refuses a repeated Authorization header as ERR_AMBIGUOUS_REQUEST (duplicate_authorization), even with equal values', () => {
    for (const values of [
      ['Bearer a', 'Bearer b'],
      ['Bearer a', 'Bearer a'],
    ]) {
      let thrown: unknown
      try {
        singleAuthorization(request(...values))
      } catch (error) {
        thrown = error
      }
      expect(isAuthError(thrown) && [thrown.code, thrown.reason]).toEqual([
        'ERR_AMBIGUOUS_REQUEST',
        'duplicate_authorization',
      ])
      expect(() => bearerToken(request(...values))).toThrow()
    }
  })

  it.each([
    ['Bearer tok', 'tok'],
    ['bearer tok', 'tok'],
    ['BEARER tok', 'tok'],
    ['Bearer  tok', ' tok'],
    ['Bearer', null],
    ['Bearer ', null],
    ['Bearertok', null],
    ['Basic dXNlcjpw', null],
    ['Bearer\ttok', null],
    ['ApiKey tok', null],
  ])('takes the Bearer token of %j as %j (scheme in any case, exactly one space)', (value, token) => {
    expect(bearerValue(value)).toBe(token)
    expect(bearerToken(request(value))).toBe(token)
  })
})
