import { describe, expect, it } from 'vitest'
import { tokenBucket } from '../src/adapter.js'

const T0 = 1_000_000

describe('tokenBucket', () => {
  it('gives its burst at once, then refuses until a token has refilled', () => {
    const bucket = tokenBucket({ burst: 3, perSecond: 2 })
    expect([1, 2, 3, 4].map(() => bucket.take(T0))).toEqual([true, true, true, false])
    expect(bucket.tokens(T0)).toBe(0)
    expect(bucket.take(T0 + 499)).toBe(false) // 2 a second: one every 500 ms
    expect(bucket.take(T0 + 500)).toBe(true)
    expect(bucket.take(T0 + 500)).toBe(false)
  })

  it('a refused take costs nothing: the refill goes on from where it was', () => {
    const bucket = tokenBucket({ burst: 1, perSecond: 1 })
    expect(bucket.take(T0)).toBe(true)
    for (let ms = 100; ms < 1000; ms += 100) expect(bucket.take(T0 + ms)).toBe(false)
    expect(bucket.take(T0 + 1000)).toBe(true)
  })

  it('never holds more than its burst, however long it rests', () => {
    const bucket = tokenBucket({ burst: 2, perMinute: 60 })
    expect(bucket.tokens(T0)).toBe(2)
    bucket.take(T0)
    expect(bucket.tokens(T0 + 3_600_000)).toBe(2)
    expect([1, 2, 3].map(() => bucket.take(T0 + 3_600_000))).toEqual([true, true, false])
  })

  it('drain() counts every call, down to empty and no further, even without a whole token', () => {
    const bucket = tokenBucket({ burst: 3, perMinute: 6 }) // one token every 10 s
    bucket.drain(T0)
    bucket.drain(T0)
    bucket.drain(T0)
    expect(bucket.tokens(T0)).toBe(0)
    bucket.drain(T0 + 5_000) // half a token refilled, and taken
    expect(bucket.tokens(T0 + 5_000)).toBe(0)
    expect(bucket.msUntilToken(T0 + 5_000)).toBe(10_000)
  })

  it('tells how long until a whole token: 0 when one is there', () => {
    const bucket = tokenBucket({ burst: 1, perMinute: 6 })
    expect(bucket.msUntilToken(T0)).toBe(0)
    bucket.take(T0)
    expect(bucket.msUntilToken(T0)).toBe(10_000)
    expect(bucket.msUntilToken(T0 + 2_500)).toBe(7_500)
    expect(bucket.msUntilToken(T0 + 10_000)).toBe(0)
  })
})
