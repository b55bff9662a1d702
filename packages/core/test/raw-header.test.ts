import { describe, expect, it } from 'vitest'
import { rawHeader } from '../src/raw-header.js'

describe('rawHeader', () => {
  const raw = ['Host', 'a', 'Authorization', 'Bearer one', 'X-Api-Key', 'k', 'authorization', 'Bearer two']

  it('returns every value of a header in order, whatever the case of its name: duplicates are kept', () => {
    expect(rawHeader(raw, 'authorization')).toEqual(['Bearer one', 'Bearer two'])
    expect(rawHeader(raw, 'x-api-key')).toEqual(['k'])
  })

  it('returns an empty list for an absent header or no raw headers', () => {
    expect(rawHeader(raw, 'cookie')).toEqual([])
    expect(rawHeader(undefined, 'authorization')).toEqual([])
  })

  it('never matches a value as a name, nor a name that only starts alike', () => {
    expect(rawHeader(['X', 'authorization', 'authorization-x', 'v'], 'authorization')).toEqual([])
  })
})
