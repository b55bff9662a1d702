import type { Clock } from '@callsign/core'
import type { FailureRule, FailureStore } from '../failure-store.js'

export interface AddressLimiterOptions {
  /** Failures of one client id from one address allowed in a burst. */
  readonly burst: number
  /** Failures forgiven per minute, per client id within an address. */
  readonly perMinute: number
  /** Failures of any client ids from one address allowed in a burst. */
  readonly addressBurst: number
  readonly store: FailureStore
}

/** Failed client authentications counted per address, never per client id alone. */
export interface AddressLimiter {
  /** Seconds this address must wait before trying this client id again; 0 when it may try now. */
  retryAfter(address: string, clientId: string | undefined): Promise<number>
  /** Records one failure of this address (for this client id, when one was named). */
  fail(address: string, clientId: string | undefined): Promise<void>
}

/**
 * Two sets of token buckets in the failure store: one per (address, client id) pair and a larger
 * one per address. A client id is only ever counted within the address that failed with it, so
 * failures from one address never throttle the same client id presented from another: whoever
 * knows a client id cannot lock its owner out. The address bucket stops one address from guessing
 * across many client ids; it refills from empty in the same time as a pair's bucket.
 */
export function addressLimiter(options: AddressLimiterOptions, clock: Clock): AddressLimiter {
  const { burst, perMinute, addressBurst, store } = options
  const pairs: FailureRule = { name: 'pair', burst, perMinute }
  const addresses: FailureRule = {
    name: 'address',
    burst: addressBurst,
    perMinute: (perMinute * addressBurst) / burst,
  }
  // JSON keeps the two parts apart whatever characters a client id holds.
  const pair = (address: string, clientId: string) => JSON.stringify([address, clientId])
  return {
    async retryAfter(address, clientId) {
      const now = clock.now()
      const wait = await store.retryAfter(addresses, [address], now)
      return clientId === undefined
        ? wait
        : Math.max(wait, await store.retryAfter(pairs, [pair(address, clientId)], now))
    },
    async fail(address, clientId) {
      const now = clock.now()
      await store.fail(addresses, [address], now)
      if (clientId !== undefined) await store.fail(pairs, [pair(address, clientId)], now)
    },
  }
}
