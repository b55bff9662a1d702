import { X509Certificate } from 'node:crypto'
import {
  type AuditReason,
  AuthError,
  type AuthRequest,
  type Caller,
  type Clock,
  ConfigError,
  systemClock,
  type TlsPeer,
  type Verifier,
} from '@callsign/core'
import { certificateThumbprint } from './certificate-thumbprint.js'
import { extendedKeyUsages, OID_ANY_EKU, OID_CLIENT_AUTH, subjectAltNames } from './lib/certificate-facts.js'
import { leafRuleBroken } from './lib/leaf-rules.js'
import type { Anchor } from './lib/load-trust.js'
import { pemCertificates, toPem } from './lib/pem.js'
import { refusal, type TrustSource } from './lib/trust-state.js'
import { isTrustDomainName, parseSpiffeId, type SpiffeId } from './parse-spiffe-id.js'
import { type ServerTls, trustSourceOf } from './tls-server-options.js'

/** One trust domain's settings. */
export interface TrustDomainOptions {
  /**
   * The CA certificate(s), PEM, that alone may vouch for IDs of this trust domain: a certificate
   * claiming an ID here must chain to one of them, so a CA trusted for another trust domain cannot
   * mint IDs in this one. Required without `serverTls`; not allowed with it (the CAs are bound
   * there, and follow its reloads).
   */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[]
}

export interface MtlsVerifierOptions {
  /** Where the identity comes from: the one SPIFFE URI SAN, or a configured DNS SAN. */
  readonly identity: 'spiffe' | 'dns'
  /**
   * The server's {@link tlsServerOptions}: the CAs bound to their trust domains, the CRLs, and
   * every reload of them. With it, a dropped CA or a revoked serial is refused on connections
   * already open (their next request, and the socket is closed).
   */
  readonly serverTls?: ServerTls
  /**
   * SPIFFE trust domains accepted. With `serverTls`: a list of trust domains bound there (default:
   * all of them; exactly one when its bundle is one CA bound implicitly). Without: a map binding
   * each trust domain to its CAs, `{ 'mesh.local': { ca: pem } }`.
   */
  readonly trustDomains?: readonly string[] | Readonly<Record<string, TrustDomainOptions>>
  /**
   * `identity: 'dns'` (required there): the DNS names accepted as identities. Exactly one of a
   * certificate's DNS SANs must be among them.
   */
  readonly dnsNames?: readonly string[]
  readonly clock?: Clock
}

interface Established {
  readonly caller: Caller
  readonly notBefore: number
  readonly notAfter: number
  readonly leaf: X509Certificate
  readonly chain: readonly Uint8Array[]
  /** The trust domain the leaf's CA must be bound to (`undefined`: any CA of the trust). */
  readonly trustDomain: string | undefined
}

/** A connection's verdict, and the trust generation it was reached under. */
interface Verdict {
  readonly generation: number
  readonly result: Established | AuthError
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
  EE_KEY_TOO_SMALL: 'weak_key',
}
const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/**
 * Verifies the TLS client certificate. The handshake has verified its chain against the server's
 * CA bundle; this verifier refuses a connection the handshake did not authorize, takes the
 * identity from exactly one SPIFFE URI SAN (or a configured DNS SAN, never the CN), refuses a CA
 * certificate, a leaf the X509-SVID rules forbid or with a weak key, a certificate without the
 * clientAuth extended key usage, a trust domain not accepted or a chain that does not end at a CA
 * bound to its trust domain, a revoked certificate. It authenticates only: the caller it gives has
 * no scopes, and what the caller may do is the policy's grants (`definePolicy({ grants })`), which
 * the pipeline adds. The verdict is worked out once per TLS connection, and again when the trust
 * of `serverTls` changes. `credentialId` is {@link certificateThumbprint} of the leaf.
 *
 * Returns `null` when the request did not come over TLS or the client sent no certificate.
 *
 * @example
 * const serverTls = tlsServerOptions({ ca: 'certs/ca.crt', cert: 'certs/tls.crt', key: 'certs/tls.key', crl: 'certs/ca.crl' })
 * const mtls = mtlsVerifier({
 *   identity: 'spiffe',
 *   serverTls, // its one CA is bound to the one trust domain named here
 *   trustDomains: ['mesh.local'],
 * })
 * const policy = definePolicy({ routes, grants: { 'spiffe://mesh.local/ns/prod/sa/billing': ['orders:read'] } })
 * const pipeline = createPipeline({ policy, verifiers: [mtls] })
 */
export function mtlsVerifier(options: MtlsVerifierOptions): Verifier {
  const where = 'mtlsVerifier'
  if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: options are required`)
  const { identity } = options
  if (identity !== 'spiffe' && identity !== 'dns') {
    throw new ConfigError(`${where}: "identity" must be 'spiffe' or 'dns'`)
  }
  if ('grants' in options) {
    throw new ConfigError(
      `${where}: "grants" belong to the policy: definePolicy({ grants }); the verifier only authenticates`,
    )
  }
  const clock = options.clock ?? systemClock
  if (identity === 'dns' && options.trustDomains !== undefined) {
    throw new ConfigError(`${where}: "trustDomains" applies only to identity 'spiffe'`)
  }
  if (identity === 'spiffe' && options.dnsNames !== undefined) {
    throw new ConfigError(`${where}: "dnsNames" applies only to identity 'dns'`)
  }
  const { trust, trustDomains } = compileTrust(options, identity)
  const dnsNames = identity === 'dns' ? compileDnsNames(options.dnsNames) : undefined

  const verdicts = new WeakMap<object, Verdict>()

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
    const broken = leafRuleBroken(leaf)
    if (broken) refuse(broken)
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
    let trustDomain: string | undefined
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
      if (!trustDomains?.has(spiffe.trustDomain)) refuse('trust_domain_not_allowed')
      trustDomain = spiffe.trustDomain
      id = spiffe.id
      attributes = { spiffeId: id, trustDomain: spiffe.trustDomain, path: spiffe.path }
    } else {
      const matching = [...new Set(names.dnsNames.map((name) => name.toLowerCase()))].filter((name) =>
        dnsNames!.has(name),
      )
      if (matching.length === 0) refuse('no_dns_identity')
      if (matching.length > 1) refuse('several_dns_identities')
      id = matching[0]!
      attributes = {}
    }
    if (trust) {
      const refused = refusal(trust.current(), leaf, chain, trustDomain)
      if (refused) refuse(refused)
    }
    const caller: Caller = Object.freeze({
      id,
      kind: 'mtls' as const,
      // no scopes of its own: the pipeline adds the policy's grants
      scopes: new Set<string>(),
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
    return { caller, notBefore, notAfter, leaf, chain, trustDomain }
  }

  /** The verdict of a connection: worked out once, and again only when the trust has changed. */
  function verdictOf(tls: TlsPeer, chain: readonly Uint8Array[]): Verdict {
    const generation = trust ? trust.current().generation : 0
    const known = verdicts.get(tls.connection)
    let verdict: Verdict
    if (known === undefined) {
      let result: Established | AuthError
      try {
        result = establish(tls, chain)
      } catch (error) {
        if (!(error instanceof AuthError)) throw error
        result = error
      }
      verdict = { generation, result }
    } else if (known.generation === generation || known.result instanceof AuthError || !trust) {
      return known
    } else {
      const { leaf, trustDomain } = known.result
      const refused = refusal(trust.current(), leaf, known.result.chain, trustDomain)
      verdict = {
        generation,
        result: refused ? new AuthError('ERR_INVALID_CREDENTIAL', { reason: refused }) : known.result,
      }
    }
    verdicts.set(tls.connection, verdict)
    // a refused certificate refuses every request of its connection: end it once this one is answered
    if (verdict.result instanceof AuthError) closeSoon(tls)
    return verdict
  }

  return Object.freeze({
    kind: 'mtls' as const,
    health: () => options.serverTls?.health() ?? { status: 'ok' as const },
    // Synchronous: everything it needs came with the handshake.
    verify(req: AuthRequest): Caller | null {
      const tls = req.tls
      if (!tls) return null
      let chain: readonly Uint8Array[] = []
      if (!verdicts.has(tls.connection)) {
        chain = tls.peerCertificateChain()
        if (chain.length === 0) return null
      }
      const known = verdictOf(tls, chain).result
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

/**
 * Where the CAs come from and which trust domains are accepted. Every accepted trust domain is
 * bound to its CAs: by `serverTls` (its `trustDomain`/`trustDomains`, or its one CA bound to the
 * one trust domain named here), or by a `ca` per trust domain here. Anything else is a ConfigError.
 */
function compileTrust(
  options: MtlsVerifierOptions,
  identity: 'spiffe' | 'dns',
): { trust: TrustSource | undefined; trustDomains: ReadonlySet<string> | undefined } {
  const where = 'mtlsVerifier'
  const value = options.trustDomains
  let trust: TrustSource | undefined
  if (options.serverTls !== undefined) {
    trust = trustSourceOf(options.serverTls)
    if (!trust) throw new ConfigError(`${where}: "serverTls" must be the result of tlsServerOptions(...)`)
  }
  if (identity === 'dns') return { trust, trustDomains: undefined }
  const entries: [string, TrustDomainOptions][] =
    value === undefined
      ? []
      : Array.isArray(value)
        ? value.map((name: string) => [name, {}])
        : typeof value === 'object' && value !== null
          ? Object.entries(value as Record<string, TrustDomainOptions>)
          : []
  if (value !== undefined && entries.length === 0) {
    throw new ConfigError(`${where}: "trustDomains" must name at least one trust domain`)
  }
  const names = new Set<string>()
  for (const [name] of entries) {
    if (!isTrustDomainName(name)) {
      throw new ConfigError(`${where}: "trustDomains": ${JSON.stringify(name)} is not a trust domain`)
    }
    if (names.has(name)) throw new ConfigError(`${where}: "trustDomains": "${name}" is listed twice`)
    names.add(name)
  }
  const withCa = entries.filter(([, settings]) => settings?.ca !== undefined)
  if (trust) {
    if (withCa.length > 0) {
      throw new ConfigError(
        `${where}: "trustDomains.${withCa[0]![0]}.ca": with "serverTls", bind CAs to trust domains in tlsServerOptions`,
      )
    }
    const bound = trust.trustDomains
    if (bound === undefined) {
      if (names.size !== 1) {
        throw new ConfigError(
          `${where}: "serverTls" has one CA bound to no named trust domain: name exactly one in "trustDomains"`,
        )
      }
      return { trust, trustDomains: names }
    }
    for (const name of names) {
      if (!bound.includes(name)) {
        throw new ConfigError(`${where}: trust domain "${name}" is bound to no CA of "serverTls"`)
      }
    }
    return { trust, trustDomains: names.size > 0 ? names : new Set(bound) }
  }
  if (entries.length === 0 || withCa.length !== entries.length) {
    const unbound = entries.find(([, settings]) => settings?.ca === undefined)?.[0]
    throw new ConfigError(
      unbound === undefined
        ? `${where}: identity 'spiffe' needs its trust domains bound to their CAs: "serverTls", or "trustDomains": { "<trust domain>": { ca } }`
        : `${where}: trust domain "${unbound}" is bound to no CA: pass "serverTls", or give "trustDomains.${unbound}.ca"`,
    )
  }
  const anchors: Anchor[] = []
  for (const [name, settings] of entries) {
    const bundles = Array.isArray(settings.ca) ? settings.ca : [settings.ca]
    for (const bundle of bundles as (string | Uint8Array)[]) {
      const ders = pemCertificates(bundle)
      if (ders.length === 0)
        throw new ConfigError(`${where}: "trustDomains.${name}.ca" holds no PEM certificate`)
      for (const der of ders) {
        const certificate = new X509Certificate(der)
        if (!certificate.ca) {
          throw new ConfigError(`${where}: "trustDomains.${name}.ca" holds a certificate that is not a CA`)
        }
        const other = anchors.find(
          (anchor) => anchor.certificate.fingerprint256 === certificate.fingerprint256,
        )
        if (other && other.trustDomain !== name) {
          throw new ConfigError(`${where}: one CA is bound to both "${other.trustDomain}" and "${name}"`)
        }
        anchors.push({ pem: Buffer.from(toPem(der)), certificate, trustDomain: name })
      }
    }
  }
  const state = { generation: 0, anchors, revoked: new Map() }
  return { trust: { current: () => state, trustDomains: [...names] }, trustDomains: names }
}

/**
 * Ends a connection whose certificate is refused, once the refusal has been written (a client that
 * reloads a new certificate then connects again instead of reusing it): `TlsPeer.close`, which ends
 * an HTTP/1.1 socket or, from the gRPC adapter, the call's HTTP/2 session. A connection that cannot
 * be closed (no `close`, or an HTTP/2 session's socket, which Node forbids ending from outside the
 * session) stays open, and each of its requests and calls keeps being refused.
 */
function closeSoon(tls: TlsPeer): void {
  if (typeof tls.close !== 'function') return
  setImmediate(() => {
    try {
      tls.close?.()
    } catch {
      // ERR_HTTP2_NO_SOCKET_MANIPULATION: the server's HTTP/2 session owns its socket
    }
  })
}

function compileDnsNames(names: readonly string[] | undefined): Set<string> {
  if (!Array.isArray(names) || names.length === 0) {
    throw new ConfigError(
      `mtlsVerifier: identity 'dns' needs "dnsNames": the DNS names accepted as identities`,
    )
  }
  for (const name of names) {
    if (typeof name !== 'string' || !DNS_NAME.test(name)) {
      throw new ConfigError(`mtlsVerifier: "dnsNames" has an invalid DNS name ${JSON.stringify(name)}`)
    }
  }
  return new Set(names)
}
