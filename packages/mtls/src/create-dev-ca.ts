import { generateKeyPairSync } from 'node:crypto'
import { ConfigError } from '@callsign/core'
import { buildCertificate, OID_COMMON_NAME, OID_ORGANIZATION } from './lib/build-certificate.js'
import { toPem } from './lib/pem.js'
import { isTrustDomainName } from './parse-spiffe-id.js'

export interface DevCaOptions {
  /** The SPIFFE trust domain this CA vouches for: `mesh.local`. Written as the CA's URI SAN. */
  readonly trustDomain: string
  /** Validity in days, 1 to 3650. Default 365. */
  readonly days?: number
  /** Subject common name. Default `Callsign development CA <trust domain>`. */
  readonly commonName?: string
  /** Start of validity. Default: one minute ago (tolerates small clock skew). */
  readonly notBefore?: Date
}

/** A CA certificate and its private key, both PEM. Keep `key` secret (files mode 0600). */
export interface DevCa {
  readonly cert: string
  readonly key: string
  readonly trustDomain: string
  readonly notAfter: Date
}

const DAY = 86_400_000

/**
 * Creates a development certificate authority for one SPIFFE trust domain: a self-signed ECDSA
 * P-256 root with `CA:TRUE, pathlen:0` and the URI SAN `spiffe://<trust domain>`. For laptops and
 * CI; never trust it anywhere else.
 *
 * @example
 * const ca = createDevCa({ trustDomain: 'mesh.local' })
 * const billing = issueServiceCertificate({ ca, spiffeId: 'spiffe://mesh.local/ns/prod/sa/billing' })
 */
export function createDevCa(options: DevCaOptions): DevCa {
  const { trustDomain } = options
  if (!isTrustDomainName(trustDomain)) {
    throw new ConfigError(
      `createDevCa: "trustDomain" ${JSON.stringify(trustDomain)} is not a valid SPIFFE trust domain (lower-case letters, digits, . - _)`,
    )
  }
  const days = options.days ?? 365
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new ConfigError('createDevCa: "days" must be a whole number from 1 to 3650')
  }
  const commonName = options.commonName ?? `Callsign development CA ${trustDomain}`
  if (typeof commonName !== 'string' || commonName.length === 0 || commonName.length > 64) {
    throw new ConfigError('createDevCa: "commonName" must be 1 to 64 characters')
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000)
  if (!(notBefore instanceof Date) || Number.isNaN(notBefore.getTime())) {
    throw new ConfigError('createDevCa: "notBefore" must be a valid Date')
  }
  const notAfter = new Date(notBefore.getTime() + days * DAY)
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const subject = [
    [OID_ORGANIZATION, 'Callsign development'],
    [OID_COMMON_NAME, commonName],
  ] as const
  const der = buildCertificate({
    subject,
    issuer: subject,
    notBefore,
    notAfter,
    publicKey,
    issuerPublicKey: publicKey,
    signingKey: privateKey,
    ca: true,
    uris: [`spiffe://${trustDomain}`],
    dnsNames: [],
    ipAddresses: [],
  })
  return Object.freeze({
    cert: toPem(der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    trustDomain,
    notAfter,
  })
}
