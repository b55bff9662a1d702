import type { Caller } from '@callsign/core'
import type { AddressLimiter } from './address-limiter.js'
import type { ClientAuthenticator, ClientRequest } from './authenticate-client.js'
import { OAuthError } from './oauth-error.js'

/**
 * Client authentication under the failed-authentication limit. The request's client is claimed
 * (which names its client id, if any), the limit for that address and client id is checked before
 * any credential is (an address that has failed too often is answered 429 even with the right
 * credential), and every `invalid_client` failure is counted against the address. Without a
 * limiter, the client is only authenticated.
 */
export function authenticateUnderLimit(
  authenticator: ClientAuthenticator,
  limiter: AddressLimiter | undefined,
): (req: ClientRequest) => Promise<Caller> {
  if (limiter === undefined) return (req) => authenticator.claim(req).authenticate()
  return async (req) => {
    const address = req.remoteAddress ?? 'unknown'
    let clientId: string | undefined
    try {
      const claimed = authenticator.claim(req)
      clientId = claimed.clientId
      const wait = await retryAfter(limiter, address, clientId)
      if (wait > 0) {
        throw new OAuthError('invalid_client', {
          reason: 'rate_limited',
          auditCode: 'ERR_INVALID_CREDENTIAL',
          status: 429,
          retryAfter: wait,
        })
      }
      return await claimed.authenticate()
    } catch (error) {
      if (error instanceof OAuthError && error.error === 'invalid_client' && error.status === 401) {
        await recordFailure(limiter, address, clientId)
      }
      throw error
    }
  }
}

/** The wait before this address may try again; a failure store that does not answer refuses the request (fail closed). */
async function retryAfter(
  limiter: AddressLimiter,
  address: string,
  clientId: string | undefined,
): Promise<number> {
  try {
    return await limiter.retryAfter(address, clientId)
  } catch (cause) {
    throw new OAuthError('temporarily_unavailable', { reason: 'limiter_unavailable', cause })
  }
}

/** The answer is a 401 either way; a store that cannot count is said, not thrown. */
async function recordFailure(
  limiter: AddressLimiter,
  address: string,
  clientId: string | undefined,
): Promise<void> {
  try {
    await limiter.fail(address, clientId)
  } catch (cause) {
    process.emitWarning(`the failed-authentication store did not record a failure (${errorName(cause)})`, {
      code: 'CALLSIGN_FAILURE_STORE',
    })
  }
}

function errorName(cause: unknown): string {
  return (cause as { code?: unknown } | null)?.code === undefined
    ? 'error'
    : String((cause as { code: unknown }).code)
}
