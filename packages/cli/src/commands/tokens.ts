import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, isAuthError } from '@callsign/core'
import { type JwtVerifierOptions, jwtVerifier, mintToken, readKeyDir } from '@callsign/jwt'
import { type Command, type CommandIo, EXIT, UsageError } from '../command.js'
import { list, optional, parseCommandArgs, required } from '../jwt/parse-command-args.js'
import { parseDuration } from '../parse-duration.js'

const HELP = `Usage: callsign tokens <subcommand> [options]

Subcommands:
  mint     --dir <jwks dir> --iss <url> --sub <id> --aud <aud> --scope <s> [--scope <s>…] --ttl 5m
           Sign a token with the directory's current key; prints the token alone on stdout.
  inspect  <token|-> (--dir <jwks dir> | --jwks-uri <url>) --iss <url> --aud <aud>
           Show the header and claims; exit 0 when the token would be accepted, 1 when not.
`

const MINT_HELP = `Usage: callsign tokens mint --dir <jwks dir> --iss <url> --sub <id> --aud <aud>
                            [--scope <s>]… [--ttl 5m] [--jti <id>] [--typ <typ>]

Signs a JWT with the current key of <jwks dir> and prints it alone on stdout.
--ttl is a duration (90s, 5m, 1h; default 5m). Verifiers refuse lifetimes over 15m by default.
`

const INSPECT_HELP = `Usage: callsign tokens inspect <token|-> (--dir <jwks dir> | --jwks-uri <url>) --iss <url> --aud <aud>
                               [--typ <typ>] [--max-lifetime 15m]

Prints the token's header and claims, then whether it would be accepted and, if not, why.
Pass - to read the token from stdin (keeps it out of the process list).
Exit codes: 0 accepted, 1 refused, 2 usage error.
`

async function mint(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    dir: { type: 'string' },
    iss: { type: 'string' },
    sub: { type: 'string' },
    aud: { type: 'string', multiple: true },
    scope: { type: 'string', multiple: true },
    ttl: { type: 'string' },
    jti: { type: 'string' },
    typ: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    io.stdout.write(MINT_HELP)
    return EXIT.ok
  }
  const dir = required(values.dir, 'dir')
  const issuer = required(values.iss, 'iss')
  const subject = required(values.sub, 'sub')
  const audience = list(values.aud)
  if (audience.length === 0) throw new UsageError('--aud is required')
  const ttl = parseDuration(optional(values.ttl) ?? '5m', '--ttl') / 1000
  const { current } = await readKeyDir(dir)
  const token = await mintToken({
    key: current,
    issuer,
    subject,
    audience,
    scopes: list(values.scope),
    ttl,
    ...(optional(values.jti) ? { jti: optional(values.jti) } : {}),
    ...(optional(values.typ) ? { typ: optional(values.typ) } : {}),
  })
  io.stdout.write(`${token}\n`)
  return EXIT.ok
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').trim()
}

async function publicKeys(dir: string): Promise<{ keys: [] }> {
  const path = join(dir, 'jwks.json')
  try {
    return JSON.parse(await readFile(path, 'utf8')) as { keys: [] }
  } catch (cause) {
    throw new ConfigError(`cannot read the public key set ${path}`, { cause })
  }
}

function decodePart(part: string | undefined): unknown {
  try {
    return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))
  } catch {
    return '(not decodable)'
  }
}

async function inspect(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      dir: { type: 'string' },
      'jwks-uri': { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string', multiple: true },
      typ: { type: 'string' },
      'max-lifetime': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    1,
  )
  if (values.help) {
    io.stdout.write(INSPECT_HELP)
    return EXIT.ok
  }
  const argument = positionals[0]
  if (argument === undefined) throw new UsageError('the token to inspect is required (or - for stdin)')
  if ((values.dir === undefined) === (values['jwks-uri'] === undefined)) {
    throw new UsageError('give exactly one of --dir or --jwks-uri')
  }
  const issuer = required(values.iss, 'iss')
  const audience = list(values.aud)
  if (audience.length === 0) throw new UsageError('--aud is required')
  const token = argument === '-' ? await readStdin() : argument

  const dir = optional(values.dir)
  const typ = optional(values.typ)
  const maxLifetime = optional(values['max-lifetime'])
  const options: JwtVerifierOptions = {
    issuer,
    audience,
    ...(dir !== undefined
      ? { keys: await publicKeys(dir) }
      : { jwksUri: required(values['jwks-uri'], 'jwks-uri') }),
    ...(typ ? { typ } : {}),
    ...(maxLifetime ? { maxLifetime: parseDuration(maxLifetime, '--max-lifetime') / 1000 } : {}),
    tokenCache: false,
  }
  const verifier = jwtVerifier(options)

  const parts = token.split('.')
  io.stdout.write(`header:\n${JSON.stringify(decodePart(parts[0]), null, 2)}\n`)
  io.stdout.write(`claims:\n${JSON.stringify(decodePart(parts[1]), null, 2)}\n`)
  try {
    const caller = await verifier.verifyToken(token)
    io.stdout.write(
      `accepted: caller ${caller.id}, scopes [${[...caller.scopes].join(' ')}], expires ${caller.expiresAt?.toISOString()}\n`,
    )
    return EXIT.ok
  } catch (error) {
    if (!isAuthError(error)) throw error
    const health = verifier.health().issuers[0]
    const detail =
      error.reason === 'keys_unavailable' && health?.lastError ? ` (key fetch: ${health.lastError})` : ''
    io.stdout.write(`refused: ${error.reason}${detail}\n`)
    return EXIT.failure
  }
}

/** `callsign tokens`: mint and inspect short-lived JWTs. */
export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'Mint and inspect short-lived JWTs',
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout.write(HELP)
      return sub === undefined ? EXIT.usage : EXIT.ok
    }
    if (sub === 'mint') return mint(rest, io)
    if (sub === 'inspect') return inspect(rest, io)
    throw new UsageError(`unknown subcommand "${sub}"`)
  },
}
