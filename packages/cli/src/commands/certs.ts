import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { ConfigError } from '@callsign/core'
import { writeFileAtomic } from '@callsign/core/adapter'
import { createDevCa, createRevocationList, issueServiceCertificate, parseSpiffeId } from '@callsign/mtls'
import { describeCertificate, formatDescription } from '../certs/describe-certificate.js'
import {
  devCrlPath,
  issuedBy,
  issuedCertificates,
  normalSerial,
  readDevCa,
  serviceCertificate,
} from '../certs/issued-certificates.js'
import { type Command, type CommandIo, EXIT, jsonOutput, type ParsedArgs, UsageError } from '../command.js'

const SERVICE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** The SPIFFE ID of a PEM certificate, `null` when it has none or cannot be read. */
function spiffeIdOf(pem: string): string | null {
  try {
    return (new X509Certificate(pem).subjectAltName ?? '').match(/URI:(spiffe:\/\/[^,\s]+)/)?.[1] ?? null
  } catch {
    return null
  }
}

/** A whole number of days within the library's bounds, or a usage error naming the option. */
function wholeDays(value: unknown, fallback: number, most: number): number {
  if (value === undefined) return fallback
  const text = String(value)
  const days = Number(text)
  if (!/^\d+$/.test(text) || days < 1 || days > most) {
    throw new UsageError(
      `--days must be a whole number of days from 1 to ${most}, not ${JSON.stringify(text)}`,
    )
  }
  return days
}

async function init({ values }: ParsedArgs, io: CommandIo): Promise<number> {
  const days = wholeDays(values.days, 365, 3650)
  const dir = resolve(String(values.dir ?? 'certs-dev'))
  const caDir = join(dir, 'ca')
  if (existsSync(join(caDir, 'ca.key')) && values.force !== true) {
    io.stderr.write(`callsign certs: ${join(caDir, 'ca.key')} exists; pass --force to replace the CA\n`)
    return EXIT.failure
  }
  const ca = createDevCa({
    trustDomain: String(values['trust-domain'] ?? 'mesh.local'),
    days,
  })
  mkdirSync(caDir, { recursive: true, mode: 0o700 })
  await writeFileAtomic(join(caDir, 'ca.key'), ca.key)
  await writeFileAtomic(join(caDir, 'ca.crt'), ca.cert, { mode: 0o644 })
  // an empty revocation list of this CA (a replaced CA's list would be signed by the old key), in a
  // folder of its own: services mount it without the CA's key
  const crlPath = devCrlPath(dir)
  mkdirSync(dirname(crlPath), { recursive: true, mode: 0o755 })
  await writeFileAtomic(crlPath, createRevocationList({ ca, revoked: [] }), { mode: 0o644 })
  io.stderr.write(
    `Created the development CA of trust domain ${ca.trustDomain}\n  ${join(caDir, 'ca.crt')}\n  ${join(caDir, 'ca.key')} (0600)\n  ${crlPath} (revocation list)\n  valid until ${ca.notAfter.toISOString()}\n`,
  )
  return EXIT.ok
}

async function issue({ values, positionals }: ParsedArgs, io: CommandIo): Promise<number> {
  const days = wholeDays(values.days, 7, 90)
  const service = positionals[0]!
  if (!SERVICE.test(service)) {
    throw new UsageError(`service "${service}" must be a DNS label: lower-case letters, digits and -`)
  }
  const namespace = String(values.namespace ?? 'default')
  if (!SERVICE.test(namespace)) throw new UsageError(`--namespace "${namespace}" must be a DNS label`)
  const dir = resolve(String(values.dir ?? 'certs-dev'))
  const caDir = join(dir, 'ca')
  let ca: { cert: string; key: string }
  try {
    ca = {
      cert: readFileSync(join(caDir, 'ca.crt'), 'utf8'),
      key: readFileSync(join(caDir, 'ca.key'), 'utf8'),
    }
  } catch (cause) {
    throw new ConfigError(
      `cannot read the CA in ${caDir}; run \`callsign certs init --dir ${values.dir ?? 'certs-dev'}\` first`,
      {
        cause,
      },
    )
  }
  const caSpiffe = (new X509Certificate(ca.cert).subjectAltName ?? '').match(/URI:(spiffe:\/\/[^,/]+)/)?.[1]
  let spiffeId = values['spiffe-id'] === undefined ? undefined : String(values['spiffe-id'])
  if (spiffeId === undefined) {
    if (!caSpiffe) throw new ConfigError('the CA names no trust domain; pass --spiffe-id')
    spiffeId = `${parseSpiffeId(caSpiffe).id}/ns/${namespace}/sa/${service}`
  }
  const existing = join(dir, service, 'tls.crt')
  const before = existsSync(existing) ? spiffeIdOf(readFileSync(existing, 'utf8')) : undefined
  if (before !== undefined && before !== spiffeId && values.force !== true) {
    throw new ConfigError(
      `${existing} is ${before}, not ${spiffeId}; pass --force to replace it with another identity`,
    )
  }
  const dnsNames = (values.dns as string[] | undefined) ?? [service, 'localhost']
  const ipAddresses = (values.ip as string[] | undefined) ?? ['127.0.0.1']
  const issued = issueServiceCertificate({
    ca,
    spiffeId,
    dnsNames,
    ipAddresses,
    days,
  })
  const out = join(dir, service)
  mkdirSync(out, { recursive: true, mode: 0o700 })
  await writeFileAtomic(join(out, 'tls.key'), issued.key)
  await writeFileAtomic(join(out, 'tls.crt'), issued.cert, { mode: 0o644 })
  await writeFileAtomic(join(out, 'ca.crt'), ca.cert, { mode: 0o644 })
  io.stderr.write(
    `Issued ${issued.spiffeId}\n  ${join(out, 'tls.crt')}\n  ${join(out, 'tls.key')} (0600)\n  ${join(out, 'ca.crt')}\n  DNS ${dnsNames.join(', ') || '(none)'}; IP ${ipAddresses.join(', ') || '(none)'}\n  valid until ${issued.notAfter.toISOString()}\n  x5t#S256 ${issued.thumbprint}\n`,
  )
  return EXIT.ok
}

function inspect({ positionals, json }: ParsedArgs, io: CommandIo): number {
  const file = positionals[0]!
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new ConfigError(`cannot read ${file}`, { cause })
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw new ConfigError(`${file} holds no PEM certificate`)
  const now = Date.now()
  const descriptions = blocks.map((block) => {
    try {
      return describeCertificate(new X509Certificate(block), now)
    } catch (cause) {
      throw new ConfigError(`${file} holds an unreadable certificate`, { cause })
    }
  })
  if (json) io.stdout.write(jsonOutput('certs.inspect', { certificates: descriptions }))
  else io.stdout.write(descriptions.map((d, i) => formatDescription(file, i, d, now)).join('\n'))
  return descriptions.every((d) => d.status === 'valid') ? EXIT.ok : EXIT.failure
}

async function revoke({ values, positionals }: ParsedArgs, io: CommandIo): Promise<number> {
  const target = positionals[0]!
  const dir = resolve(String(values.dir ?? 'certs-dev'))
  const ca = readDevCa(dir, String(values.dir ?? 'certs-dev'))
  let serial: string
  let label: string
  const certificate = SERVICE.test(target) ? serviceCertificate(dir, target) : undefined
  if (certificate) {
    const caCert = new X509Certificate(ca.cert)
    if (!issuedBy(certificate, caCert)) {
      throw new ConfigError(`${join(dir, target, 'tls.crt')} was not issued by the CA in ${join(dir, 'ca')}`)
    }
    serial = normalSerial(certificate.serialNumber)
    const uri = (certificate.subjectAltName ?? '').match(/URI:(spiffe:\/\/[^,\s]+)/)?.[1]
    label = `${target}${uri ? ` (${uri})` : ''}`
  } else if (/^(0x)?[0-9a-f:]+$/i.test(target) && /[0-9a-f]/i.test(target)) {
    serial = normalSerial(target)
    label = `serial ${serial}`
  } else {
    throw new UsageError(`"${target}" is neither a service of ${dir} nor a hex serial number`)
  }
  if (ca.revoked.some((entry) => entry.serial === serial)) {
    io.stderr.write(`${label} (serial ${serial}) is already revoked in ${ca.crlPath}\n`)
    return EXIT.ok
  }
  const number = ca.crlNumber + 1
  const crl = createRevocationList({
    ca,
    revoked: [...ca.revoked, { serial, revokedAt: new Date() }],
    number,
  })
  mkdirSync(dirname(ca.crlPath), { recursive: true, mode: 0o755 })
  await writeFileAtomic(ca.crlPath, crl, { mode: 0o644 })
  io.stderr.write(
    `Revoked ${label}, serial ${serial}\n  ${ca.crlPath} (CRL number ${number}, ${ca.revoked.length + 1} revoked)\n  servers reading it with tlsServerOptions({ crl }) refuse it at their next reload, open connections included\n`,
  )
  return EXIT.ok
}

function list({ values, json }: ParsedArgs, io: CommandIo): number {
  const dir = resolve(String(values.dir ?? 'certs-dev'))
  const found = issuedCertificates(dir, readDevCa(dir, String(values.dir ?? 'certs-dev')))
  if (json) {
    io.stdout.write(jsonOutput('certs.list', { certificates: found }))
    return EXIT.ok
  }
  const rows = [
    ['SERVICE', 'SERIAL', 'SPIFFE ID', 'NOT AFTER', 'REVOKED'],
    ...found.map((c) => [c.name ?? '-', c.serial, c.spiffeId ?? '-', c.notAfter ?? '-', c.revokedAt ?? 'no']),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  io.stdout.write(
    rows
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n'),
  )
  io.stdout.write('\n')
  return EXIT.ok
}

const DIR_OPTION = {
  type: 'string',
  value: '<dir>',
  help: 'the certificates folder (default certs-dev)',
} as const

/**
 * `callsign certs`: a development CA and service certificates in the layout of a Kubernetes TLS
 * secret, their inspection, revocation (a CRL) and listing.
 */
export const certsCommand: Command = {
  name: 'certs',
  summary: 'Development CA and service certificates',
  description: 'The development CA is for laptops and CI; never trust it anywhere else.',
  subcommands: [
    {
      name: 'init',
      summary: 'Create a development CA for a SPIFFE trust domain',
      usage: '[--trust-domain mesh.local] [--dir certs-dev] [--days 365] [--force]',
      description:
        'Writes <dir>/ca/ca.crt, ca.key (0600) and an empty revocation list <dir>/crl/ca.crl (a folder without the key).',
      options: {
        'trust-domain': {
          type: 'string',
          value: '<domain>',
          help: 'the SPIFFE trust domain (default mesh.local)',
        },
        dir: DIR_OPTION,
        days: { type: 'string', value: '<n>', help: 'validity in days, 1 to 3650 (default 365)' },
        force: { type: 'boolean', help: 'replace an existing CA' },
      },
      run: init,
    },
    {
      name: 'issue',
      summary: 'Issue a service certificate from the development CA',
      usage:
        '<service> [--dir certs-dev] [--days 7] [--namespace default] [--spiffe-id <id>] [--dns <name>]… [--ip <address>]…',
      description: `Writes <dir>/<service>/tls.crt, tls.key (0600) and ca.crt, the layout of a Kubernetes TLS secret.
The SPIFFE ID is spiffe://<trust domain>/ns/<namespace>/sa/<service> unless --spiffe-id is given.
ECDSA P-256, serverAuth and clientAuth. Issuing again renews (files replaced atomically, so a service watching
them reloads a whole certificate); replacing a certificate of another SPIFFE ID needs --force.`,
      positionals: ['<service>'],
      options: {
        dir: DIR_OPTION,
        days: { type: 'string', value: '<n>', help: 'validity in days, 1 to 90 (default 7)' },
        namespace: {
          type: 'string',
          value: '<ns>',
          help: 'the namespace in the SPIFFE ID (default default)',
        },
        'spiffe-id': {
          type: 'string',
          value: '<id>',
          help: 'the SPIFFE ID, instead of the one made from the CA',
        },
        dns: {
          type: 'string',
          multiple: true,
          value: '<name>',
          help: 'a DNS name (default: <service> and localhost)',
        },
        ip: { type: 'string', multiple: true, value: '<address>', help: 'an IP address (default 127.0.0.1)' },
        force: { type: 'boolean', help: 'replace a certificate of another SPIFFE ID' },
      },
      run: issue,
    },
    {
      name: 'inspect',
      summary: 'Print a certificate, or each one of a bundle',
      usage: '<file> [--json]',
      description: `Subject, validity, SPIFFE ID, SANs, key usages and the RFC 8705 thumbprint (x5t#S256, the mTLS
caller's credentialId).`,
      positionals: ['<file>'],
      json: '{ schema, certificates: [{ subject, issuer, serial, notBefore, notAfter, status, spiffeId, … }] }',
      exitCodes: '0 every certificate valid, 1 an expired or not yet valid one (or a failure), 2 usage error',
      run: inspect,
    },
    {
      name: 'revoke',
      summary: "Revoke a service's certificate (or a serial) in the CA's revocation list",
      usage: '<service|serial> [--dir certs-dev]',
      description: `Adds the certificate of <dir>/<service>/tls.crt (or a hex serial number) to the CA's revocation list
<dir>/crl/ca.crl, written atomically with the next CRL number. A server started with
tlsServerOptions({ crl: '<dir>/crl/ca.crl' }) refuses it at its next reload, on connections already open too.
<dir>/crl holds no key: mount it alone.`,
      positionals: ['<service|serial>'],
      options: { dir: DIR_OPTION },
      run: revoke,
    },
    {
      name: 'list',
      summary: 'List the certificates of a folder',
      usage: '[--dir certs-dev] [--json]',
      description:
        'Service, serial, SPIFFE ID, notAfter, revoked (and the revoked serials no file holds any more).',
      options: { dir: DIR_OPTION },
      json: '{ schema, certificates: [{ name, serial, spiffeId, notAfter, revoked, revokedAt }] }',
      run: list,
    },
  ],
}
