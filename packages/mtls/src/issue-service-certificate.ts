import { generateKeyPairSync } from 'node:crypto'
import { isIP } from 'node:net'
import { ConfigError } from '@callsign/core'
import { certificateThumbprint } from './certificate-thumbprint.js'
import { buildCertificate, OID_COMMON_NAME } from './lib/build-certificate.js'
import { subjectAltNames, subjectKeyIdentifier, subjectName } from './lib/certificate-facts.js'
import { toPem } from './lib/pem.js'
import { readSigningCa } from './lib/signing-ca.js'
import { parseSpiffeId } from './parse-spiffe-id.js'

export interface IssueServiceCertificateOptions {
  /** The issuing CA: its certificate and private key, PEM (a {@link DevCa} will do). */
  readonly ca: { readonly cert: string | Uint8Array; readonly key: string | Uint8Array }
  /** The service's SPIFFE ID, in the CA's trust domain: the certificate's one URI SAN. */
  readonly spiffeId: string
  /** DNS SANs, lower case (`billing`, `localhost`). Default none. */
  readonly dnsNames?: readonly string[]
  /** IP address SANs (`127.0.0.1`). Default none. */
  readonly ipAddresses?: readonly string[]
  /** Validity in days, 1 to 90. Default 7. Ignored when `notAfter` is given. */
  readonly days?: number
  /** Start of validity. Default: one minute ago. */
  readonly notBefore?: Date
  /** End of validity. Default: `notBefore` + `days`. */
  readonly notAfter?: Date
}

/** A service certificate and its private key, PEM. */
export interface ServiceCertificate {
  readonly cert: string
  readonly key: string
  readonly spiffeId: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** {@link certificateThumbprint} of the certificate: the mTLS caller's `credentialId`. */
  readonly thumbprint: string
}

const DAY = 86_400_000
const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/**
 * Issues a short-lived service certificate (an X.509-SVID): a fresh ECDSA P-256 key, one SPIFFE URI
 * SAN plus the DNS and IP SANs asked for, `CA:FALSE`, key usage digitalSignature, extended key
 * usages serverAuth and clientAuth, valid 7 days unless told otherwise.
 *
 * @example
 * const ca = createDevCa({ trustDomain: 'mesh.local' })
 * const { cert, key } = issueServiceCertificate({
 *   ca,
 *   spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing',
 *   dnsNames: ['billing', 'localhost'],
 * })
 */
export function issueServiceCertificate(options: IssueServiceCertificateOptions): ServiceCertificate {
  const where = 'issueServiceCertificate'
  const { cert: caCert, key: caKey } = readSigningCa(options.ca, where)
  let spiffeId: ReturnType<typeof parseSpiffeId>
  try {
    spiffeId = parseSpiffeId(options.spiffeId)
  } catch (cause) {
    throw new ConfigError(
      `${where}: "spiffeId" ${JSON.stringify(options.spiffeId)} is not a valid SPIFFE ID`,
      {
        cause,
      },
    )
  }
  if (spiffeId.path === '')
    throw new ConfigError(`${where}: "spiffeId" must have a path (it names a workload)`)
  const caDomains = subjectAltNames(caCert.raw).uris.filter((uri) => uri.startsWith('spiffe://'))
  if (caDomains.length > 0 && !caDomains.includes(`spiffe://${spiffeId.trustDomain}`)) {
    throw new ConfigError(
      `${where}: "spiffeId" is in trust domain "${spiffeId.trustDomain}", which this CA does not vouch for`,
    )
  }
  const dnsNames = options.dnsNames ?? []
  for (const name of dnsNames) {
    if (typeof name !== 'string' || !DNS_NAME.test(name)) {
      throw new ConfigError(`${where}: "dnsNames" has an invalid DNS name ${JSON.stringify(name)}`)
    }
  }
  const ipAddresses = options.ipAddresses ?? []
  for (const ip of ipAddresses) {
    if (typeof ip !== 'string' || isIP(ip) === 0)
      throw new ConfigError(`${where}: "ipAddresses" has an invalid address ${JSON.stringify(ip)}`)
    if (ip.includes('%')) {
      throw new ConfigError(
        `${where}: "ipAddresses" has ${JSON.stringify(ip)} with a zone id, which a certificate cannot hold`,
      )
    }
  }
  const days = options.days ?? 7
  if (!Number.isInteger(days) || days < 1 || days > 90) {
    throw new ConfigError(`${where}: "days" must be a whole number from 1 to 90`)
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000)
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + days * DAY)
  for (const [label, date] of [
    ['notBefore', notBefore],
    ['notAfter', notAfter],
  ] as const) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      throw new ConfigError(`${where}: "${label}" must be a valid Date`)
    }
  }
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new ConfigError(`${where}: "notAfter" must be later than "notBefore"`)
  }

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const issuerKeyId = subjectKeyIdentifier(caCert.raw)
  const service = spiffeId.segments[spiffeId.segments.length - 1]!
  const der = buildCertificate({
    subject: [[OID_COMMON_NAME, service]],
    issuer: subjectName(caCert.raw),
    notBefore,
    notAfter,
    publicKey,
    issuerPublicKey: caCert.publicKey,
    // the CA's own key id, so a chain to a CA made elsewhere (openssl, another PKI) links up
    ...(issuerKeyId ? { issuerKeyId } : {}),
    signingKey: caKey,
    ca: false,
    uris: [spiffeId.id],
    dnsNames,
    ipAddresses,
  })
  return Object.freeze({
    cert: toPem(der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    spiffeId: spiffeId.id,
    notBefore,
    notAfter,
    thumbprint: certificateThumbprint(der),
  })
}
