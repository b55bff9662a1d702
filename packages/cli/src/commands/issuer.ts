import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { fileKeyStore } from '@callsign/api-key'
import { ConfigError, jsonLinesAuditSink } from '@callsign/core'
import { createIssuer, type IssuerClient } from '@callsign/issuer'
import { tlsServerOptions } from '@callsign/mtls'
import { type Command, EXIT, UsageError } from '../command.js'
import { list, optional, parseCommandArgs, required } from '../jwt/parse-command-args.js'
import { parseDuration } from '../parse-duration.js'

const HELP = `Usage: callsign issuer <subcommand> [options]

Subcommands:
  serve    Run the OAuth 2.0 token issuer (client_credentials) until SIGINT or SIGTERM

Run \`callsign issuer serve --help\` for its options.
`

const SERVE_HELP = `Usage: callsign issuer serve --port <n> --keys <jwks dir> --issuer <url> --audience <aud>
                             [--audience <aud>…] [--store <keys file>] [--clients <file>] [--host 127.0.0.1]
                             [--ttl 5m] [--tls-cert <file> --tls-key <file> --tls-ca <file>] [--audit <file>]

Serves POST <path>/oauth2/token, GET <path>/.well-known/jwks.json, the RFC 8414 metadata at
GET /.well-known/oauth-authorization-server<path> (and the same at <path>/.well-known/openid-configuration)
and GET <path>/healthz, where <path> is the path of --issuer (often empty). Prints "listening on <url>"
on stderr once it accepts connections.

  --port <n>        TCP port (0: any free port)
  --host <addr>     address to listen on (default 127.0.0.1)
  --keys <dir>      signing key directory (callsign jwks generate); reloaded when it changes
  --issuer <url>    the issuer URL: the iss claim and the base of every route (may have a path)
  --audience <aud>  an audience tokens may be issued for (repeat for several); clients choose with
                    resource=<aud> (RFC 8707)
  --store <file>    API key store of the clients (callsign keys create)
  --clients <file>  certificate clients, JSON: { "<SPIFFE ID>": { "scopes": ["inventory:read"] } }
  --ttl <duration>  token lifetime, at most 1h (default 5m)
  --tls-cert, --tls-key, --tls-ca
                    serve HTTPS; client certificates are requested (RFC 8705 tls_client_auth), not
                    required, so API key clients connect without one
  --audit <file>    append one JSON line per token request (issued or refused)

Rotation: \`callsign jwks rotate --dir <dir> --publish\`, wait for verifiers to refetch the JWKS,
then \`callsign jwks rotate --dir <dir> --promote\`. The running issuer picks up each step.
`

/** `callsign issuer serve`: runs the token issuer until SIGINT or SIGTERM. */
export const issuerCommand: Command = {
  name: 'issuer',
  summary: 'Run the token issuer (OAuth 2.0 client credentials)',
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout.write(HELP)
      return sub === undefined ? EXIT.usage : EXIT.ok
    }
    if (sub !== 'serve') throw new UsageError(`unknown subcommand "${sub}"`)
    const { values } = parseCommandArgs(rest, {
      port: { type: 'string' },
      host: { type: 'string' },
      store: { type: 'string' },
      clients: { type: 'string' },
      keys: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string', multiple: true },
      ttl: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      audit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    })
    if (values.help) {
      io.stdout.write(SERVE_HELP)
      return EXIT.ok
    }
    const portText = required(values.port, 'port')
    const port = Number(portText)
    if (!/^\d{1,5}$/.test(portText) || port > 65_535) throw new UsageError('--port must be 0 to 65535')
    const host = optional(values.host) ?? '127.0.0.1'
    const keys = required(values.keys, 'keys')
    const issuerUrl = required(values.issuer, 'issuer')
    const audiences = list(values.audience)
    if (audiences.length === 0) throw new UsageError('--audience is required (repeat it for several)')
    const storePath = optional(values.store)
    const clientsPath = optional(values.clients)
    if (storePath === undefined && clientsPath === undefined) {
      throw new UsageError('give --store (API key clients), --clients (certificate clients), or both')
    }
    const ttl = values.ttl === undefined ? 300 : parseDuration(String(values.ttl), '--ttl') / 1000
    if (ttl < 1 || ttl > 3600) throw new UsageError('--ttl must be from 1s to 1h')
    const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']].map(optional)
    const tlsCount = tlsFiles.filter((file) => file !== undefined).length
    if (tlsCount !== 0 && tlsCount !== 3)
      throw new UsageError('--tls-cert, --tls-key and --tls-ca go together')

    const clients = clientsPath === undefined ? undefined : await readClients(clientsPath)
    const store = storePath === undefined ? undefined : fileKeyStore(storePath)
    const tls =
      tlsCount === 3
        ? tlsServerOptions({
            cert: tlsFiles[0]!,
            key: tlsFiles[1]!,
            ca: tlsFiles[2]!,
            clientCertificate: 'request',
          })
        : undefined
    const audit = values.audit === undefined ? undefined : jsonLinesAuditSink(String(values.audit))
    const cleanup = async () => {
      store?.close()
      tls?.close()
      await audit?.close()
    }
    let issuer: Awaited<ReturnType<typeof createIssuer>>
    try {
      issuer = await createIssuer({
        issuer: issuerUrl,
        keys,
        audiences,
        ttl,
        ...(store ? { store } : {}),
        ...(clients ? { clients } : {}),
        ...(tls ? { https: tls } : {}),
        ...(audit ? { audit } : {}),
      })
      await issuer.app.listen({ port, host })
    } catch (error) {
      await cleanup()
      throw error
    }
    const address = issuer.app.server.address() as AddressInfo
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
    io.stderr.write(`listening on ${tls ? 'https' : 'http'}://${shownHost}:${address.port}\n`)

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const stop = (name: NodeJS.Signals) => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve(name)
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    await issuer.close()
    await cleanup()
    io.stderr.write(`stopped (${signal})\n`)
    return EXIT.ok
  },
}

async function readClients(path: string): Promise<Record<string, IssuerClient>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    throw new ConfigError(`--clients: cannot read ${path}`, { cause })
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object')
    return parsed as Record<string, IssuerClient>
  } catch (cause) {
    throw new ConfigError(`--clients: ${path} is not a JSON object of { "<id>": { "scopes": [...] } }`, {
      cause,
    })
  }
}
