/** The kinds of credential Callsign verifies. */
export type CredentialKind = 'api-key' | 'jwt' | 'mtls'

/**
 * Who is calling, as established by a verifier. Never holds a secret.
 *
 * @example
 * const caller = getCaller(req)
 * log.info({ caller: caller.id, via: caller.kind }, 'reserving stock')
 */
export interface Caller {
  /** The service identity: `'billing'` or `'spiffe://mesh.local/ns/prod/sa/billing'`. */
  readonly id: string
  readonly kind: CredentialKind
  /** The scopes the caller holds here: its credential's scopes plus the callee's grants. */
  readonly scopes: ReadonlySet<string>
  /** Key id, token `jti`, or certificate fingerprint: safe to log, never a secret. */
  readonly credentialId: string
  readonly expiresAt?: Date
  /**
   * For a certificate-bound token (RFC 8705): the `credentialId` of the mTLS certificate it is
   * bound to, already checked against the connection by the verifier.
   */
  readonly boundCertificate?: string
  /** Validated claims, certificate subject, key labels. */
  readonly attributes: Readonly<Record<string, unknown>>
}
