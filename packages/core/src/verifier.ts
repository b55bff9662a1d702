import type { AuthRequest } from './auth-request.js'
import type { Caller, CredentialKind } from './caller.js'
import type { ComponentHealth } from './health.js'

/**
 * Verifies one kind of credential.
 *
 * - Returns `null` when the request carries no credential of its kind.
 * - Throws (or rejects with) an {@link AuthError} when it carries one that is bad: a bad credential
 *   never falls through to another verifier.
 * - May answer synchronously when the answer needs no I/O (a cached key or token, a certificate
 *   checked at the handshake): the pipeline then decides in the same tick. An `async verify()` is
 *   always accepted.
 */
export interface Verifier {
  readonly kind: CredentialKind
  verify(req: AuthRequest): Caller | null | Promise<Caller | null>
  /** Optional: the state of what it depends on (keys, store, TLS material), for `pipeline.health()`. */
  health?(): ComponentHealth
}
