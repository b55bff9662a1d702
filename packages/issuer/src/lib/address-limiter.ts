import type { Clock } from '@callsign/core'
import { failureLimiter } from './failure-limiter.js'

export interface AddressLimiterOptions {
  /** Failures of one client id from one address allowed in a burst. */
  readonly burst: number
  /** Failures forgiven per minute, per client id within an address. */
  readonly perMinute: number
  /** Failures of any client ids from one address allowed in a burst. */
  readonly addressBurst: number
  readonly maxTracked: number
}

/** Failed client authentications counted per address, never per client id alone. */
export interface AddressLimiter {
  /** Seconds this address must wait before trying this client id again; 0 when it may try now. */
  retryAfter(address: string, clientId: string | undefined): number
  /** Records one failure of this address (for this client id, when one was named). */
  fail(address: string, clientId: string | undefined): void
}

/**
 * Two sets of token buckets: one per (address, client id) pair and a larger one per address. A
 * client id is only ever counted within the address that failed with it, so failures from one
 * address never throttle the same client id presented from another: whoever knows a client id
 * cannot lock its owner out. The address bucket stops one address from guessing across many
 * client ids; it refills from empty in the same time as a pair's bucket.
 */
export function addressLimiter(options: AddressLimiterOptions, clock: Clock): AddressLimiter {
  const { burst, perMinute, addressBurst, maxTracked } = options
  const pairs = failureLimiter({ burst, perMinute, maxTracked, clock })
  const addresses = failureLimiter({
    burst: addressBurst,
    perMinute: (perMinute * addressBurst) / burst,
    maxTracked,
    clock,
  })
  // JSON keeps the two parts apart whatever characters a client id holds.
  const pair = (address: string, clientId: string) => JSON.stringify([address, clientId])
  return {
    retryAfter(address, clientId) {
      const wait = addresses.retryAfter([address])
      return clientId === undefined ? wait : Math.max(wait, pairs.retryAfter([pair(address, clientId)]))
    },
    fail(address, clientId) {
      addresses.fail([address])
      if (clientId !== undefined) pairs.fail([pair(address, clientId)])
    },
  }
}
