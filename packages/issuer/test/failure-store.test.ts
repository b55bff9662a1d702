import { describe, expect, it } from 'vitest'
import { type FailureRule, memoryFailureStore } from '../src/failure-store.js'

const T0 = 1_700_000_000_000
const pairs: FailureRule = { name: 'pair', burst: 2, perMinute: 6 } // a failure forgiven every 10 s

describe('memoryFailureStore', () => {
  it('lets a key fail its burst, then asks it to wait, in whole seconds, until a failure is forgiven', () => {
    const store = memoryFailureStore({ maxTracked: 10 })
    expect(store.retryAfter(pairs, ['a'], T0)).toBe(0)
    store.fail(pairs, ['a'], T0)
    expect(store.retryAfter(pairs, ['a'], T0)).toBe(0)
    store.fail(pairs, ['a'], T0)
    expect(store.retryAfter(pairs, ['a'], T0)).toBe(10)
    expect(store.retryAfter(pairs, ['a'], T0 + 2_500)).toBe(8) // 7.5 s, rounded up
    expect(store.retryAfter(pairs, ['a', 'b'], T0)).toBe(10) // the longest wait of the keys
    expect(store.retryAfter(pairs, ['a'], T0 + 10_000)).toBe(0)
  })

  it('counts a failure that comes while the key must wait: the wait starts again', () => {
    const store = memoryFailureStore({ maxTracked: 10 })
    store.fail(pairs, ['a'], T0)
    store.fail(pairs, ['a'], T0)
    store.fail(pairs, ['a'], T0 + 5_000) // half a failure forgiven, and taken again
    expect(store.retryAfter(pairs, ['a'], T0 + 5_000)).toBe(10)
  })

  it('keeps the buckets of each rule apart', () => {
    const store = memoryFailureStore({ maxTracked: 10 })
    const addresses: FailureRule = { name: 'address', burst: 1, perMinute: 6 }
    store.fail(addresses, ['a'], T0)
    expect(store.retryAfter(addresses, ['a'], T0)).toBe(10)
    expect(store.retryAfter(pairs, ['a'], T0)).toBe(0)
  })

  it('tracks at most maxTracked keys a rule, forgetting the least recently failed first', () => {
    const store = memoryFailureStore({ maxTracked: 2 })
    const once: FailureRule = { name: 'pair', burst: 1, perMinute: 6 }
    store.fail(once, ['a'], T0)
    store.fail(once, ['b'], T0)
    store.fail(once, ['a'], T0) // a failed again: now b is the least recent
    store.fail(once, ['c'], T0)
    expect(store.retryAfter(once, ['a'], T0)).toBe(10)
    expect(store.retryAfter(once, ['b'], T0)).toBe(0) // forgotten
    expect(store.retryAfter(once, ['c'], T0)).toBe(10)
  })
})
