import type { Caller, Logger } from '@callsign/core'
import { warn } from '@callsign/core/adapter'
import type { AddressLimiter } from './address-limiter.js'
import type { ClientAuthenticator, ClientRequest } from './authenticate-client.js'
import { OAuthError } from './oauth-error.js'

/**
 * Client authentication under the failed-authentication limit. The request's client is claimed
 * (which names its client id, if any), the limit for that address and client id is checked before
 * any credential is (an address that has failed too often is answered 429 even with the right
 * credential), and every `invalid_client` failure is counted against the address. Without a
 * limiter, the client is only authenticated. A failure store that cannot record a failure is
 * reported to `logger` once, and again only after it recorded one since.
 */
export function authenticateUnderLimit(
  authenticator: ClientAuthenticator,
  limiter: AddressLimiter | undefined,
  logger: Logger | undefined,
): (req: ClientRequest) => Promise<Caller> {
  if (limiter === undefined) return (req) => authenticator.claim(req).authenticate()
  const recordFailure = failureRecorder(limiter, logger)
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
        await recordFailure(address, clientId)
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

/**
 * Counts a failure. The answer is a 401 either way: a store that cannot count is said, not thrown,
 * once while it keeps failing (each failed request would say it again: a flood of invalid
 * credentials would flood the log).
 */
function failureRecorder(
  limiter: AddressLimiter,
  logger: Logger | undefined,
): (address: string, clientId: string | undefined) => Promise<void> {
  let failing = false
  return async (address, clientId) => {
    try {
      await limiter.fail(address, clientId)
      failing = false
    } catch (cause) {
      if (failing) return
      failing = true
      warn(
        logger,
        'CALLSIGN_FAILURE_STORE',
        `issuer: the failed-authentication store did not record a failure (${errorName(cause)}); said once until it records one again`,
      )
    }
  }
}

function errorName(cause: unknown): string {
  return (cause as { code?: unknown } | null)?.code === undefined
    ? 'error'
    : String((cause as { code: unknown }).code)
}
