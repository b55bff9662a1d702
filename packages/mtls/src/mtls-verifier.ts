import { X509Certificate } from 'node:crypto'
import {
  type AuditReason,
  AuthError,
  type AuthRequest,
  type Caller,
  type Clock,
  ConfigError,
  isScope,
  systemClock,
  type TlsPeer,
  type Verifier,
} from '@callsign/core'
import { certificateThumbprint } from './certificate-thumbprint.js'
import { extendedKeyUsages, OID_ANY_EKU, OID_CLIENT_AUTH, subjectAltNames } from './lib/certificate-facts.js'
import { pemCertificates } from './lib/pem.js'
import { isTrustDomainName, parseSpiffeId, type SpiffeId } from './parse-spiffe-id.js'
import type { SpiffeAuthorizer } from './spiffe-authorizers.js'

/** One trust domain's settings. */
export interface TrustDomainOptions {
  /**
   * The CA certificate(s), PEM, allowed to vouch for IDs of this trust domain. When set, a
   * certificate claiming an ID here must chain to one of them, so a CA trusted for another trust
   * domain cannot mint IDs in this one. Default: any CA the handshake trusts.
   */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[]
}

/** Scopes for every SPIFFE ID an authorizer accepts (`authorizePathPrefix(...)`). */
export interface MtlsGrant {
  readonly to: SpiffeAuthorizer
  readonly scopes: readonly string[]
}

export interface MtlsVerifierOptions {
  /** Where the identity comes from: the one SPIFFE URI SAN, or a configured DNS SAN. */
  readonly identity: 'spiffe' | 'dns'
  /**
   * SPIFFE trust domains accepted: a list, or a map to per-domain settings. Default: every trust
   * domain a CA of the handshake's bundle vouches for.
   */
  readonly trustDomains?: readonly string[] | Readonly<Record<string, TrustDomainOptions>>
  /**
   * The callee's grants (DESIGN §5): caller id → scopes, and/or authorizer-based grants. An
   * identity with no grant is authenticated with an empty scope set.
   */
  readonly grants: Readonly<Record<string, readonly string[]>> | readonly MtlsGrant[]
  /**
   * `identity: 'dns'`: the DNS names accepted as identities. Default: the keys of `grants`.
   * Exactly one of a certificate's DNS SANs must be among them.
   */
  readonly dnsNames?: readonly string[]
  readonly clock?: Clock
}

interface Established {
  readonly caller: Caller
  readonly notBefore: number
  readonly notAfter: number
}

const HANDSHAKE_REASONS: Readonly<Record<string, AuditReason>> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not_yet_valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self_signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'self_signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown_ca',
  INVALID_PURPOSE: 'wrong_purpose',
  CERT_REVOKED: 'revoked',
}
const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
const MAX_CHAIN = 8

/**
 * Verifies the TLS client certificate. The handshake has verified its chain against the server's
 * CA bundle; this verifier refuses a connection the handshake did not authorize, takes the
 * identity from exactly one SPIFFE URI SAN (or a configured DNS SAN, never the CN), refuses a CA
 * certificate, a certificate without the clientAuth extended key usage and a trust domain outside
 * the allow-list, and gives the scopes of the callee's grants. The identity is worked out once per
 * TLS connection. `credentialId` is {@link certificateThumbprint} of the leaf.
 *
 * Returns `null` when the request did not come over TLS or the client sent no certificate.
 *
 * @example
 * const mtls = mtlsVerifier({
 *   identity: 'spiffe',
 *   trustDomains: ['mesh.local'],
 *   grants: { 'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read'] },
 * })
 * const pipeline = createPipeline({ policy, verifiers: [mtls] })
 */
export function mtlsVerifier(options: MtlsVerifierOptions): Verifier {
  const where = 'mtlsVerifier'
  if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: options are required`)
  const { identity } = options
  if (identity !== 'spiffe' && identity !== 'dns') {
    throw new ConfigError(`${where}: "identity" must be 'spiffe' or 'dns'`)
  }
  const clock = options.clock ?? systemClock
  const trustDomains = compileTrustDomains(options.trustDomains)
  const { exact, matchers } = compileGrants(options.grants, identity, trustDomains)
  const dnsNames = identity === 'dns' ? compileDnsNames(options.dnsNames ?? [...exact.keys()]) : undefined
  if (identity === 'dns' && options.trustDomains !== undefined) {
    throw new ConfigError(`${where}: "trustDomains" applies only to identity 'spiffe'`)
  }
  if (identity === 'spiffe' && options.dnsNames !== undefined) {
    throw new ConfigError(`${where}: "dnsNames" applies only to identity 'dns'`)
  }

  const established = new WeakMap<object, Established | AuthError>()

  function refuse(reason: AuditReason, cause?: unknown): never {
    throw new AuthError('ERR_INVALID_CREDENTIAL', cause === undefined ? { reason } : { reason, cause })
  }

  function establish(tls: TlsPeer, chain: readonly Uint8Array[]): Established {
    const leafDer = chain[0]!
    if (!tls.authorized) {
      refuse(HANDSHAKE_REASONS[tls.authorizationError ?? ''] ?? 'handshake_unauthorized')
    }
    let leaf: X509Certificate
    try {
      leaf = new X509Certificate(leafDer)
    } catch (cause) {
      refuse('bad_certificate', cause)
    }
    const notBefore = Date.parse(leaf.validFrom)
    const notAfter = Date.parse(leaf.validTo)
    if (leaf.ca) refuse('leaf_is_ca')
    const usages = extendedKeyUsages(leaf)
    if (!usages || !(usages.includes(OID_CLIENT_AUTH) || usages.includes(OID_ANY_EKU))) {
      refuse('no_client_auth_eku')
    }
    let names: ReturnType<typeof subjectAltNames>
    try {
      names = subjectAltNames(leafDer)
    } catch (cause) {
      refuse('bad_certificate', cause)
    }
    let id: string
    let attributes: Record<string, unknown>
    let scopes: Set<string>
    if (identity === 'spiffe') {
      if (names.uris.length === 0) refuse('no_spiffe_id')
      if (names.uris.length > 1) refuse('several_uri_sans')
      let spiffe: SpiffeId
      try {
        spiffe = parseSpiffeId(names.uris[0]!)
      } catch (cause) {
        refuse('bad_spiffe_id', cause)
      }
      if (spiffe.path === '') refuse('bad_spiffe_id')
      if (trustDomains) {
        const domain = trustDomains.get(spiffe.trustDomain)
        if (!domain) refuse('trust_domain_not_allowed')
        if (domain.cas.length > 0 && !chainsTo(leaf, chain, domain.cas)) {
          refuse('trust_domain_ca_mismatch')
        }
      }
      id = spiffe.id
      scopes = new Set(exact.get(id) ?? [])
      for (const grant of matchers) if (grant.to(spiffe)) for (const scope of grant.scopes) scopes.add(scope)
      attributes = { spiffeId: id, trustDomain: spiffe.trustDomain, path: spiffe.path }
    } else {
      const matching = [...new Set(names.dnsNames.map((name) => name.toLowerCase()))].filter((name) =>
        dnsNames!.has(name),
      )
      if (matching.length === 0) refuse('no_dns_identity')
      if (matching.length > 1) refuse('several_dns_identities')
      id = matching[0]!
      scopes = new Set(exact.get(id) ?? [])
      attributes = {}
    }
    const caller: Caller = Object.freeze({
      id,
      kind: 'mtls' as const,
      scopes,
      credentialId: certificateThumbprint(leafDer),
      expiresAt: new Date(notAfter),
      attributes: Object.freeze({
        ...attributes,
        dnsNames: Object.freeze([...names.dnsNames]),
        subject: leaf.subject,
        issuer: leaf.issuer,
        serialNumber: leaf.serialNumber,
        notBefore: new Date(notBefore).toISOString(),
      }),
    })
    return { caller, notBefore, notAfter }
  }

  return Object.freeze({
    kind: 'mtls' as const,
    // Synchronous: everything it needs came with the handshake.
    verify(req: AuthRequest): Caller | null {
      const tls = req.tls
      if (!tls) return null
      let known = established.get(tls.connection)
      if (known === undefined) {
        const chain = tls.peerCertificateChain()
        if (chain.length === 0) return null
        try {
          known = establish(tls, chain)
        } catch (error) {
          if (!(error instanceof AuthError)) throw error
          known = error
        }
        established.set(tls.connection, known)
      }
      if (known instanceof AuthError) throw new AuthError(known.code, { reason: known.reason })
      // A connection outlives nothing: check the authorization and validity on every request.
      if (!tls.authorized) refuse('handshake_unauthorized')
      const now = clock.now()
      if (now < known.notBefore) refuse('not_yet_valid')
      if (now > known.notAfter) refuse('expired')
      return known.caller
    },
  })
}

interface TrustDomain {
  readonly cas: readonly X509Certificate[]
}

function compileTrustDomains(
  value: MtlsVerifierOptions['trustDomains'],
): Map<string, TrustDomain> | undefined {
  const where = 'mtlsVerifier: "trustDomains"'
  if (value === undefined) return undefined
  const entries: [string, TrustDomainOptions][] = Array.isArray(value)
    ? value.map((name: string) => [name, {}])
    : typeof value === 'object' && value !== null
      ? Object.entries(value as Record<string, TrustDomainOptions>)
      : []
  if (entries.length === 0) throw new ConfigError(`${where} must name at least one trust domain`)
  const domains = new Map<string, TrustDomain>()
  for (const [name, settings] of entries) {
    if (!isTrustDomainName(name))
      throw new ConfigError(`${where}: ${JSON.stringify(name)} is not a trust domain`)
    if (domains.has(name)) throw new ConfigError(`${where}: "${name}" is listed twice`)
    const bundles = settings?.ca === undefined ? [] : Array.isArray(settings.ca) ? settings.ca : [settings.ca]
    const cas: X509Certificate[] = []
    for (const bundle of bundles as (string | Uint8Array)[]) {
      const ders = pemCertificates(bundle)
      if (ders.length === 0) throw new ConfigError(`${where}: "${name}.ca" holds no PEM certificate`)
      for (const der of ders) {
        const certificate = new X509Certificate(der)
        if (!certificate.ca)
          throw new ConfigError(`${where}: "${name}.ca" holds a certificate that is not a CA`)
        cas.push(certificate)
      }
    }
    domains.set(name, { cas })
  }
  return domains
}

function compileGrants(
  value: MtlsVerifierOptions['grants'],
  identity: 'spiffe' | 'dns',
  trustDomains: Map<string, TrustDomain> | undefined,
): { exact: Map<string, readonly string[]>; matchers: MtlsGrant[] } {
  const where = 'mtlsVerifier: "grants"'
  if (value === null || typeof value !== 'object') {
    throw new ConfigError(`${where} is required: caller id → scopes (it may be empty)`)
  }
  const exact = new Map<string, readonly string[]>()
  const matchers: MtlsGrant[] = []
  const checkScopes = (scopes: unknown, label: string): readonly string[] => {
    if (!Array.isArray(scopes) || !scopes.every(isScope)) {
      throw new ConfigError(`${where}: ${label} must be a list of "resource:action" scopes`)
    }
    return Object.freeze([...scopes])
  }
  if (Array.isArray(value)) {
    if (identity !== 'spiffe') throw new ConfigError(`${where}: authorizer grants need identity 'spiffe'`)
    for (const [index, grant] of (value as MtlsGrant[]).entries()) {
      if (typeof grant?.to !== 'function')
        throw new ConfigError(`${where}[${index}].to must be an authorizer`)
      matchers.push({ to: grant.to, scopes: checkScopes(grant.scopes, `[${index}].scopes`) })
    }
    return { exact, matchers }
  }
  for (const [id, scopes] of Object.entries(value as Record<string, readonly string[]>)) {
    if (identity === 'spiffe') {
      let parsed: SpiffeId
      try {
        parsed = parseSpiffeId(id)
      } catch (cause) {
        throw new ConfigError(`${where}: ${JSON.stringify(id)} is not a valid SPIFFE ID`, { cause })
      }
      if (trustDomains && !trustDomains.has(parsed.trustDomain)) {
        throw new ConfigError(`${where}: "${id}" is in a trust domain that "trustDomains" does not allow`)
      }
    } else if (!DNS_NAME.test(id)) {
      throw new ConfigError(`${where}: ${JSON.stringify(id)} is not a lower-case DNS name`)
    }
    exact.set(id, checkScopes(scopes, `"${id}"`))
  }
  return { exact, matchers }
}

function compileDnsNames(names: readonly string[]): Set<string> {
  if (!Array.isArray(names) || names.length === 0) {
    throw new ConfigError(
      `mtlsVerifier: "dnsNames" (or the keys of "grants") must name the accepted DNS identities`,
    )
  }
  for (const name of names) {
    if (typeof name !== 'string' || !DNS_NAME.test(name)) {
      throw new ConfigError(`mtlsVerifier: "dnsNames" has an invalid DNS name ${JSON.stringify(name)}`)
    }
  }
  return new Set(names)
}

/**
 * True when the leaf chains to one of `anchors`, walking issuer links through the presented chain
 * and checking each signature (never trusting the chain's order or contents).
 */
function chainsTo(
  leaf: X509Certificate,
  presented: readonly Uint8Array[],
  anchors: readonly X509Certificate[],
) {
  const pool: X509Certificate[] = []
  for (const der of presented.slice(1)) {
    try {
      pool.push(new X509Certificate(der))
    } catch {
      // an unreadable extra certificate links nothing
    }
  }
  let current = leaf
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (anchors.some((anchor) => anchor.fingerprint256 === current.fingerprint256)) return true
    if (anchors.some((anchor) => current.checkIssued(anchor) && current.verify(anchor.publicKey))) return true
    const next = pool.find(
      (candidate) =>
        candidate.ca &&
        candidate.fingerprint256 !== current.fingerprint256 &&
        current.checkIssued(candidate) &&
        current.verify(candidate.publicKey),
    )
    if (!next) return false
    current = next
  }
  return false
}
