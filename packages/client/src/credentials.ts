import type { CredentialKind } from '@callsign/core'
import type { Dispatcher } from 'undici'

/**
 * The common shape of every credential a service presents when it calls another: it yields the
 * `Authorization` header value for a call, and can be told that a value was refused.
 *
 * @example
 * const creds: Credentials = apiKeyCredentials(fileSecret('/run/secrets/orders-key'))
 * const header = await creds.authorization() // 'Bearer csk_…'
 */
export interface Credentials {
  readonly kind: CredentialKind
  /**
   * The `Authorization` header value for a call to `audience`, or `undefined` when the credential
   * travels in the TLS handshake instead (mTLS). Rejects with a {@link ClientError} when no usable
   * credential can be had.
   */
  authorization(audience?: string): Promise<string | undefined>
  /**
   * The server refused `rejected` (an `Authorization` value this object returned): drop it, so the
   * next {@link Credentials.authorization} fetches or re-reads a fresh one. Rate-limited, so a server
   * that refuses every credential causes no storm of refreshes.
   */
  invalidate(rejected?: string): void
  /** The undici dispatcher outgoing requests must use (the client certificate, for mTLS). */
  readonly dispatcher?: Dispatcher
}
