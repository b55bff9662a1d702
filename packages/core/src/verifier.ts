import type { AuthRequest } from './auth-request.js'
import type { Caller, CredentialKind } from './caller.js'

/**
 * Verifies one kind of credential.
 *
 * - Returns `null` when the request carries no credential of its kind.
 * - Throws an {@link AuthError} when it carries one that is bad: a bad credential never falls
 *   through to another verifier.
 */
export interface Verifier {
  readonly kind: CredentialKind
  verify(req: AuthRequest): Promise<Caller | null>
}
