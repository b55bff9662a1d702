import { createHash, createPublicKey, type JsonWebKey as JWK } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { fileKeyStore } from '@callsign/api-key'
import { ConfigError, isScope, jsonLinesAuditSink } from '@callsign/core'
import { createIssuer, type Issuer, type IssuerClient } from '@callsign/issuer'
import { tlsServerOptions } from '@callsign/mtls'
import { type Command, type CommandIo, EXIT, type ParsedArgs, UsageError } from '../command.js'
import { mustExist } from '../keys/shared.js'
import { list, optional, required } from '../option-values.js'
import { parseDuration } from '../parse-duration.js'

/** `callsign issuer serve`: runs the token issuer until SIGINT or SIGTERM. */
const serveSubcommand: Command = {
  name: 'serve',
  summary: 'Run the OAuth 2.0 token issuer (client_credentials) until SIGINT or SIGTERM',
  usage: `--port <n> --keys <jwks dir> --issuer <url> --audience <aud> [--audience <aud>…]
       [--store <keys file>] [--clients <file>] [--host 127.0.0.1] [--ttl 5m]
       [--tls-cert <file> --tls-key <file> --tls-ca <file>] [--audit <file>]`,
  description: `Serves POST <path>/oauth2/token, GET <path>/.well-known/jwks.json, the RFC 8414 metadata at
GET /.well-known/oauth-authorization-server<path> (and the same at <path>/.well-known/openid-configuration)
and GET <path>/healthz, where <path> is the path of --issuer (often empty). Prints "listening on <url>"
on stderr once it accepts connections.

Rotation: \`callsign jwks rotate --dir <dir> --publish\`, wait for verifiers to refetch the JWKS,
then \`callsign jwks rotate --dir <dir> --promote\`. The running issuer picks up each step.`,
  options: {
    port: { type: 'string', value: '<n>', help: 'TCP port (0: any free port)' },
    host: { type: 'string', value: '<addr>', help: 'address to listen on (default 127.0.0.1)' },
    keys: {
      type: 'string',
      value: '<dir>',
      help: 'signing key directory (callsign jwks generate); reloaded when it changes',
    },
    issuer: {
      type: 'string',
      value: '<url>',
      help: 'the issuer URL: the iss claim and the base of every route (may have a path)',
    },
    audience: {
      type: 'string',
      multiple: true,
      value: '<aud>',
      help: 'an audience tokens may be issued for; clients choose with resource=<aud> (RFC 8707)',
    },
    store: {
      type: 'string',
      value: '<file>',
      help: 'API key store of the clients (callsign keys create); must exist',
    },
    clients: {
      type: 'string',
      value: '<file>',
      help: `registered clients, JSON: certificate clients { "<SPIFFE ID>": { "scopes": [...] } }
and private_key_jwt clients { "<id>": { "scopes": [...], "jwks": {...} | "jwksUri": "…" } }
(callsign issuer add-client writes the latter)`,
    },
    ttl: { type: 'string', value: '<duration>', help: 'token lifetime, at most 1h (default 5m)' },
    'tls-cert': {
      type: 'string',
      value: '<file>',
      help: `serve HTTPS with --tls-key and --tls-ca; client certificates are requested
(RFC 8705 tls_client_auth), not required, so API key clients connect without one`,
    },
    'tls-key': { type: 'string', value: '<file>', help: 'the private key of --tls-cert' },
    'tls-ca': { type: 'string', value: '<file>', help: 'the CA of client certificates' },
    audit: {
      type: 'string',
      value: '<file>',
      help: 'append one JSON line per token request (issued or refused)',
    },
  },
  async run({ values }, io) {
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
      throw new UsageError(
        'give --store (API key clients), --clients (certificate and private_key_jwt clients), or both',
      )
    }
    const ttl = values.ttl === undefined ? 300 : parseDuration(String(values.ttl), '--ttl') / 1000
    if (ttl < 1 || ttl > 3600) throw new UsageError('--ttl must be from 1s to 1h')
    const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']].map(optional)
    const tlsCount = tlsFiles.filter((file) => file !== undefined).length
    if (tlsCount !== 0 && tlsCount !== 3)
      throw new UsageError('--tls-cert, --tls-key and --tls-ca go together')

    const clients = clientsPath === undefined ? undefined : await readClients(clientsPath)
    if (storePath !== undefined) mustExist(storePath, '--store')
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
    let issuer: Issuer | undefined
    let address: AddressInfo
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
      address = await issuer.listen({ port, host })
    } catch (error) {
      await issuer?.close()
      await cleanup()
      throw error
    }
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

/** `callsign issuer add-client`: writes a private_key_jwt client into a clients file. */
async function addClient({ values }: ParsedArgs, io: CommandIo): Promise<number> {
  const path = required(values.clients, 'clients')
  const id = required(values.id, 'id')
  if (!/^[\x21-\x7e]{1,256}$/.test(id)) throw new UsageError('--id must be 1 to 256 visible ASCII characters')
  const scopes = list(values.scope)
  if (scopes.length === 0) throw new UsageError('--scope is required (repeat it for several)')
  const keyFile = optional(values['public-key'])
  const jwksUri = optional(values['jwks-uri'])
  if ((keyFile === undefined) === (jwksUri === undefined))
    throw new UsageError('give --public-key or --jwks-uri')
  const kid = optional(values.kid)
  if (kid !== undefined && jwksUri !== undefined) throw new UsageError('--kid goes with --public-key')

  let clients: Record<string, IssuerClient> = {}
  try {
    clients = await readClients(path)
  } catch (error) {
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw error
  }
  if (Object.hasOwn(clients, id) && !values.replace) {
    throw new ConfigError(`${path} already has a client ${JSON.stringify(id)}; add --replace to replace it`)
  }
  const audiences = list(values.audience)
  const entry: IssuerClient = {
    scopes,
    ...(jwksUri !== undefined ? { jwksUri } : { jwks: { keys: [await readPublicJwk(keyFile!, kid)] } }),
    ...(audiences.length > 0 ? { audiences } : {}),
  }
  const bad = scopes.find((scope) => !isScope(scope))
  if (bad !== undefined)
    throw new UsageError(`--scope ${JSON.stringify(bad)} is not a "resource:action" scope`)
  const next = { ...clients, [id]: entry }
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o644 })
  await rename(temporary, path)
  const shown = entry.jwks ? `key ${(entry.jwks as { keys: JWK[] }).keys[0]!.kid}` : `keys at ${jwksUri}`
  io.stdout.write(`registered ${id} (private_key_jwt, ${shown}) in ${path}; restart the issuer to use it\n`)
  return EXIT.ok
}

/** A public key file (PEM or JWK) as a public JWK with a `kid`; a private key is refused. */
async function readPublicJwk(file: string, kid: string | undefined): Promise<JWK> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw new ConfigError(`--public-key: cannot read ${file}`, { cause })
  }
  let jwk: JWK
  try {
    const isJwk = text.trimStart().startsWith('{')
    const parsed = isJwk ? (JSON.parse(text) as JWK) : undefined
    if (text.includes('PRIVATE KEY') || (parsed && ('d' in parsed || 'k' in parsed))) {
      throw new ConfigError(`--public-key: ${file} holds a private key; give the public key only`)
    }
    const key = parsed ? createPublicKey({ key: parsed as never, format: 'jwk' }) : createPublicKey(text)
    jwk = {
      ...(key.export({ format: 'jwk' }) as JWK),
      ...(typeof parsed?.kid === 'string' ? { kid: parsed.kid } : {}),
    }
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause
    throw new ConfigError(`--public-key: ${file} is not a public key (PEM or JWK)`, { cause })
  }
  return { ...jwk, kid: kid ?? jwk.kid ?? thumbprint(jwk), use: 'sig' }
}

/** RFC 7638 JWK thumbprint (SHA-256) of a public EC, OKP or RSA key. */
function thumbprint(jwk: JWK): string {
  const members: Record<string, readonly string[]> = {
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
    RSA: ['e', 'kty', 'n'],
  }
  const names = members[jwk.kty as string] ?? []
  const canonical = JSON.stringify(
    Object.fromEntries(names.map((name) => [name, (jwk as Record<string, unknown>)[name]])),
  )
  return createHash('sha256').update(canonical).digest('base64url')
}

const addClientSubcommand: Command = {
  name: 'add-client',
  summary: "Register a private_key_jwt client's public key (or JWKS URL) in a --clients file",
  usage: `--clients <file> --id <client id> --scope <scope> [--scope <scope>…]
       (--public-key <file> | --jwks-uri <url>) [--kid <kid>] [--audience <aud>…] [--replace]`,
  description: `The client authenticates with private_key_jwt (RFC 7523): it signs a short assertion with its own
private key, and the issuer holds only the public key. Writes the entry into the --clients file
(created if missing) that \`callsign issuer serve --clients\` reads; restart the issuer to pick it up.

The client signs with: privateKeyJwt({ clientId, keyFile }) from @callsign/client, or any OAuth
library's private_key_jwt. Make a key pair with, for example:
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out billing.key.pem
  openssl pkey -in billing.key.pem -pubout -out billing.pub.pem`,
  options: {
    clients: { type: 'string', value: '<file>', help: 'the clients file (JSON)' },
    id: {
      type: 'string',
      value: '<client id>',
      help: "the client id: the assertion's iss and sub, and the token's sub",
    },
    scope: { type: 'string', multiple: true, value: '<scope>', help: 'a scope the client may be issued' },
    'public-key': {
      type: 'string',
      value: '<file>',
      help: `the client's public key: PEM (BEGIN PUBLIC KEY) or a public JWK (JSON); stored
inline. A private key is refused: it never leaves the client`,
    },
    'jwks-uri': {
      type: 'string',
      value: '<url>',
      help: "or a URL serving the client's JWKS (https, or http on loopback)",
    },
    kid: {
      type: 'string',
      value: '<kid>',
      help: "the key id (default: the JWK's kid, else its RFC 7638 thumbprint)",
    },
    audience: {
      type: 'string',
      multiple: true,
      value: '<aud>',
      help: 'an audience this client may have (default: all the issuer serves)',
    },
    replace: { type: 'boolean', help: 'replace an existing entry with this id' },
  },
  run: addClient,
}

/** `callsign issuer`: the token issuer and its registered clients. */
export const issuerCommand: Command = {
  name: 'issuer',
  summary: 'Run the token issuer (OAuth 2.0 client credentials)',
  subcommands: [serveSubcommand, addClientSubcommand],
}
