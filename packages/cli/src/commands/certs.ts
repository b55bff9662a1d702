import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
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
import { type Command, type CommandIo, EXIT, UsageError } from '../command.js'

const HELP = `Usage:
  callsign certs init [--trust-domain mesh.local] [--dir certs-dev] [--days 365] [--force]
  callsign certs issue <service> [--dir certs-dev] [--days 7] [--namespace default]
                       [--spiffe-id <id>] [--dns <name>]... [--ip <address>]...
  callsign certs inspect <file> [--json]
  callsign certs revoke <service|serial> [--dir certs-dev]
  callsign certs list [--dir certs-dev] [--json]

init      creates a development CA for a SPIFFE trust domain: <dir>/ca/ca.crt and ca.key (0600),
          and its empty revocation list <dir>/crl/ca.crl (a folder without the key).
issue     issues a service certificate from that CA, in the layout of a Kubernetes TLS secret:
          <dir>/<service>/tls.crt, tls.key (0600) and ca.crt. The SPIFFE ID is
          spiffe://<trust domain>/ns/<namespace>/sa/<service> unless --spiffe-id is given; the DNS
          names default to <service> and localhost, the IP addresses to 127.0.0.1. ECDSA P-256,
          serverAuth and clientAuth, valid --days days (default 7, at most 90). Files are replaced
          atomically, so a service watching them reloads a whole certificate.
inspect   prints a certificate (or each one of a bundle): subject, validity, SPIFFE ID, SANs, key
          usages and the RFC 8705 thumbprint (x5t#S256, the mTLS caller's credentialId).
revoke    revokes the certificate of <dir>/<service>/tls.crt (or a serial number, hex) by adding
          it to the CA's revocation list <dir>/crl/ca.crl, written atomically with the next CRL
          number. A server started with tlsServerOptions({ crl: '<dir>/crl/ca.crl' }) refuses it at
          its next reload, on connections already open too. <dir>/crl holds no key: mount it alone.
list      lists the certificates of <dir>: service, serial, SPIFFE ID, notAfter, revoked (and the
          revoked serials no file holds any more).

The development CA is for laptops and CI; never trust it anywhere else.
Exit codes: 0 ok, 1 failure (or, for inspect, an expired or not yet valid certificate), 2 usage error.
`

const SERVICE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export const certsCommand: Command = {
  name: 'certs',
  summary: 'Development CA and service certificates',
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout.write(HELP)
      return sub === undefined ? EXIT.usage : EXIT.ok
    }
    if (sub === 'init') return init(rest, io)
    if (sub === 'issue') return issue(rest, io)
    if (sub === 'inspect') return inspect(rest, io)
    if (sub === 'revoke') return revoke(rest, io)
    if (sub === 'list') return list(rest, io)
    throw new UsageError(`unknown subcommand "${sub}"`)
  },
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options']

function parse<T extends Options>(argv: readonly string[], options: T) {
  try {
    return parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

function wholeNumber(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  const text = String(value)
  if (!/^\d+$/.test(text)) throw new UsageError(`--${option} must be a whole number of days`)
  return Number(text)
}

async function init(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    'trust-domain': { type: 'string' },
    dir: { type: 'string' },
    days: { type: 'string' },
    force: { type: 'boolean' },
  })
  if (values.help) {
    io.stdout.write(HELP)
    return EXIT.ok
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const dir = resolve(String(values.dir ?? 'certs-dev'))
  const caDir = join(dir, 'ca')
  if (existsSync(join(caDir, 'ca.key')) && values.force !== true) {
    io.stderr.write(`callsign certs: ${join(caDir, 'ca.key')} exists; pass --force to replace the CA\n`)
    return EXIT.failure
  }
  const ca = createDevCa({
    trustDomain: String(values['trust-domain'] ?? 'mesh.local'),
    days: wholeNumber(values.days, 'days', 365),
  })
  mkdirSync(caDir, { recursive: true, mode: 0o700 })
  await writeFileAtomic(join(caDir, 'ca.key'), ca.key)
  await writeFileAtomic(join(caDir, 'ca.crt'), ca.cert, { mode: 0o644 })
  // an empty revocation list of this CA (a replaced CA's list would be signed by the old key), in a
  // folder of its own: services mount it without the CA's key
  const crlPath = devCrlPath(dir)
  mkdirSync(dirname(crlPath), { recursive: true, mode: 0o755 })
  await writeFileAtomic(crlPath, createRevocationList({ ca, revoked: [] }), { mode: 0o644 })
  io.stdout.write(
    `Created the development CA of trust domain ${ca.trustDomain}\n  ${join(caDir, 'ca.crt')}\n  ${join(caDir, 'ca.key')} (0600)\n  ${crlPath} (revocation list)\n  valid until ${ca.notAfter.toISOString()}\n`,
  )
  return EXIT.ok
}

async function issue(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    dir: { type: 'string' },
    days: { type: 'string' },
    namespace: { type: 'string' },
    'spiffe-id': { type: 'string' },
    dns: { type: 'string', multiple: true },
    ip: { type: 'string', multiple: true },
  })
  if (values.help) {
    io.stdout.write(HELP)
    return EXIT.ok
  }
  if (positionals.length !== 1)
    throw new UsageError('name exactly one service: callsign certs issue <service>')
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
  const issued = issueServiceCertificate({
    ca,
    spiffeId,
    dnsNames: (values.dns as string[] | undefined) ?? [service, 'localhost'],
    ipAddresses: (values.ip as string[] | undefined) ?? ['127.0.0.1'],
    days: wholeNumber(values.days, 'days', 7),
  })
  const out = join(dir, service)
  mkdirSync(out, { recursive: true, mode: 0o700 })
  await writeFileAtomic(join(out, 'tls.key'), issued.key)
  await writeFileAtomic(join(out, 'tls.crt'), issued.cert, { mode: 0o644 })
  await writeFileAtomic(join(out, 'ca.crt'), ca.cert, { mode: 0o644 })
  io.stdout.write(
    `Issued ${issued.spiffeId}\n  ${join(out, 'tls.crt')}\n  ${join(out, 'tls.key')} (0600)\n  ${join(out, 'ca.crt')}\n  valid until ${issued.notAfter.toISOString()}\n  x5t#S256 ${issued.thumbprint}\n`,
  )
  return EXIT.ok
}

function inspect(argv: readonly string[], io: CommandIo): number {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } })
  if (values.help) {
    io.stdout.write(HELP)
    return EXIT.ok
  }
  if (positionals.length !== 1) throw new UsageError('name exactly one file: callsign certs inspect <file>')
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
  if (values.json)
    io.stdout.write(
      `${JSON.stringify(descriptions.length === 1 ? descriptions[0] : descriptions, null, 2)}\n`,
    )
  else io.stdout.write(descriptions.map((d, i) => formatDescription(file, i, d, now)).join('\n'))
  return descriptions.every((d) => d.status === 'valid') ? EXIT.ok : EXIT.failure
}

async function revoke(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { dir: { type: 'string' } })
  if (values.help) {
    io.stdout.write(HELP)
    return EXIT.ok
  }
  if (positionals.length !== 1) {
    throw new UsageError('name exactly one service or serial: callsign certs revoke <service|serial>')
  }
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
    io.stdout.write(`${label} (serial ${serial}) is already revoked in ${ca.crlPath}\n`)
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
  io.stdout.write(
    `Revoked ${label}, serial ${serial}\n  ${ca.crlPath} (CRL number ${number}, ${ca.revoked.length + 1} revoked)\n  servers reading it with tlsServerOptions({ crl }) refuse it at their next reload, open connections included\n`,
  )
  return EXIT.ok
}

function list(argv: readonly string[], io: CommandIo): number {
  const { values, positionals } = parse(argv, { dir: { type: 'string' }, json: { type: 'boolean' } })
  if (values.help) {
    io.stdout.write(HELP)
    return EXIT.ok
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const dir = resolve(String(values.dir ?? 'certs-dev'))
  const found = issuedCertificates(dir, readDevCa(dir, String(values.dir ?? 'certs-dev')))
  if (values.json) {
    io.stdout.write(`${JSON.stringify(found, null, 2)}\n`)
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
