import { isAuthError, isScope } from '@callsign/core'
import {
  type JwtVerifierOptions,
  jwtVerifier,
  mintToken,
  readKeyDir,
  readKeyDirJwks,
  SIGNING_ALGORITHMS,
} from '@callsign/jwt'
import { type Command, type CommandIo, EXIT, jsonOutput, type ParsedArgs, UsageError } from '../command.js'
import { list, optional, required } from '../option-values.js'
import { parseDuration } from '../parse-duration.js'

/** jwtVerifier's default maxLifetime: a longer token is refused by every default verifier. */
const VERIFIER_MAX_LIFETIME = '15m'

/** jwtVerifier's default allow-list of algorithms (ES384 and ES512 are not on it). */
export const VERIFIER_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const

const MAX_LIFETIME_OPTION = {
  type: 'string',
  value: '<duration>',
  help: `the verifier's longest accepted lifetime (default ${VERIFIER_MAX_LIFETIME}, jwtVerifier's maxLifetime)`,
} as const

/** An https (or loopback http) URL, as jwtVerifier takes an issuer; else a usage error naming the option. */
function issuerUrl(value: unknown, option: string): string {
  const text = required(value, option.slice(2))
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(
      `${option} must be a URL such as https://issuer.example, not ${JSON.stringify(text)}`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${option} must be an https:// (or http://) URL, not ${JSON.stringify(text)}`)
  }
  return text
}

/** `--max-lifetime` in seconds (default 15m). */
function maxLifetime(values: ParsedArgs['values']): number {
  const text = optional(values['max-lifetime']) ?? VERIFIER_MAX_LIFETIME
  const seconds = parseDuration(text, '--max-lifetime') / 1000
  if (seconds > 86_400)
    throw new UsageError(`--max-lifetime must be at most 24h, not ${JSON.stringify(text)}`)
  return seconds
}

async function mint({ values }: ParsedArgs, io: CommandIo): Promise<number> {
  const dir = required(values.dir, 'dir')
  const issuer = issuerUrl(values.iss, '--iss')
  const subject = required(values.sub, 'sub')
  const audience = list(values.aud)
  if (audience.length === 0) throw new UsageError('--aud is required')
  const scopes = list(values.scope)
  if (scopes.length === 0) throw new UsageError('--scope is required (repeat it for several)')
  const bad = scopes.find((scope) => !isScope(scope))
  if (bad !== undefined)
    throw new UsageError(`--scope ${JSON.stringify(bad)} is not a "resource:action" scope`)
  const ttlText = optional(values.ttl) ?? '5m'
  const ttl = parseDuration(ttlText, '--ttl') / 1000
  const longest = maxLifetime(values)
  if (ttl > longest) {
    throw new UsageError(
      `--ttl ${ttlText} is longer than the verifier's maximum lifetime (${longest} s): it would be refused as lifetime_too_long; give --max-lifetime if your verifier allows more`,
    )
  }
  const { current } = await readKeyDir(dir)
  const token = await mintToken({
    key: current,
    issuer,
    subject,
    audience,
    scopes,
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

function decodePart(part: string | undefined): unknown {
  try {
    return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))
  } catch {
    return '(not decodable)'
  }
}

async function tokenArgument(argument: string): Promise<string> {
  return argument === '-' ? await readStdin() : argument
}

async function decode({ positionals, json }: ParsedArgs, io: CommandIo): Promise<number> {
  const parts = (await tokenArgument(positionals[0]!)).split('.')
  const header = decodePart(parts[0])
  const claims = decodePart(parts[1])
  if (json) {
    io.stdout.write(jsonOutput('tokens.decode', { verified: false, header, claims }))
  } else {
    io.stdout.write('UNVERIFIED: the signature, issuer, audience and expiry were not checked\n')
    io.stdout.write(
      `header:\n${JSON.stringify(header, null, 2)}\nclaims:\n${JSON.stringify(claims, null, 2)}\n`,
    )
  }
  return header === '(not decodable)' || claims === '(not decodable)' ? EXIT.failure : EXIT.ok
}

async function inspect({ values, positionals, json }: ParsedArgs, io: CommandIo): Promise<number> {
  if ((values.dir === undefined) === (values['jwks-uri'] === undefined)) {
    throw new UsageError('give exactly one of --dir or --jwks-uri')
  }
  const issuer = issuerUrl(values.iss, '--iss')
  const audience = list(values.aud)
  if (audience.length === 0) throw new UsageError('--aud is required')
  const algorithms = list(values.alg)
  const unknown = algorithms.find((alg) => !(SIGNING_ALGORITHMS as readonly string[]).includes(alg))
  if (unknown !== undefined) {
    throw new UsageError(
      `--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}, not ${JSON.stringify(unknown)}`,
    )
  }
  const lifetime = maxLifetime(values)
  const token = await tokenArgument(positionals[0]!)

  const dir = optional(values.dir)
  const typ = optional(values.typ)
  const keySet = dir === undefined ? undefined : await readKeyDirJwks(dir)
  const allowed = algorithms.length > 0 ? algorithms : [...VERIFIER_ALGORITHMS]
  const refusedAlg = keySet?.keys
    .map((key) => (key as { alg?: string }).alg)
    .find((alg) => alg !== undefined && !allowed.includes(alg))
  if (refusedAlg !== undefined) {
    // jwtVerifier would not even load these keys: say why, as a refusal, and how to allow them
    const reason = `alg_not_allowed (the keys of ${dir} are ${refusedAlg}; accepted: ${allowed.join(', ')}; pass --alg ${refusedAlg} if your verifiers list it)`
    if (json) io.stdout.write(jsonOutput('tokens.inspect', { accepted: false, reason: 'alg_not_allowed' }))
    else io.stdout.write(`refused: ${reason}\n`)
    return EXIT.failure
  }
  const options: JwtVerifierOptions = {
    issuer,
    audience,
    ...(keySet !== undefined ? { keys: keySet } : { jwksUri: required(values['jwks-uri'], 'jwks-uri') }),
    ...(typ ? { typ } : {}),
    ...(algorithms.length > 0 ? { algorithms } : {}),
    maxLifetime: lifetime,
    tokenCache: false,
  }
  const verifier = jwtVerifier(options)

  const parts = token.split('.')
  const header = decodePart(parts[0])
  const claims = decodePart(parts[1])
  if (!json) {
    io.stdout.write(`header:\n${JSON.stringify(header, null, 2)}\n`)
    io.stdout.write(`claims:\n${JSON.stringify(claims, null, 2)}\n`)
  }
  try {
    const caller = await verifier.verifyToken(token)
    const scopes = [...caller.scopes]
    const expiresAt = caller.expiresAt?.toISOString() ?? null
    if (json) {
      io.stdout.write(
        jsonOutput('tokens.inspect', {
          accepted: true,
          header,
          claims,
          caller: caller.id,
          scopes,
          expiresAt,
        }),
      )
    } else {
      io.stdout.write(`accepted: caller ${caller.id}, scopes [${scopes.join(' ')}], expires ${expiresAt}\n`)
    }
    return EXIT.ok
  } catch (error) {
    if (!isAuthError(error)) throw error
    const health = verifier.health().issuers[0]
    const detail =
      error.reason === 'keys_unavailable' && health?.lastError ? ` (key fetch: ${health.lastError})` : ''
    if (json) {
      io.stdout.write(
        jsonOutput('tokens.inspect', { accepted: false, header, claims, reason: error.reason ?? error.code }),
      )
    } else io.stdout.write(`refused: ${error.reason}${detail}\n`)
    return EXIT.failure
  }
}

const TOKEN_POSITIONAL = ['<token|->']

/** `callsign tokens`: mint, inspect and decode short-lived JWTs. */
export const tokensCommand: Command = {
  name: 'tokens',
  summary: 'Mint, inspect and decode short-lived JWTs',
  subcommands: [
    {
      name: 'mint',
      summary: "Sign a token with a key directory's current key; prints it alone on stdout",
      usage: '--dir <jwks dir> --iss <url> --sub <id> --aud <aud> --scope <s> [--scope <s>…] [--ttl 5m]',
      description: `A --ttl longer than the verifier's maximum lifetime (--max-lifetime, default ${VERIFIER_MAX_LIFETIME}) is refused:
the token would be refused as lifetime_too_long.`,
      options: {
        dir: {
          type: 'string',
          value: '<jwks dir>',
          help: 'the signing key directory (callsign jwks generate)',
        },
        iss: { type: 'string', value: '<url>', help: 'the issuer URL (the iss claim)' },
        sub: { type: 'string', value: '<id>', help: 'the subject: the caller the token names' },
        aud: { type: 'string', multiple: true, value: '<aud>', help: 'an audience (required)' },
        scope: { type: 'string', multiple: true, value: '<s>', help: 'a scope "resource:action" (required)' },
        ttl: { type: 'string', value: '<duration>', help: 'the lifetime: 90s, 5m (default), 15m' },
        'max-lifetime': MAX_LIFETIME_OPTION,
        jti: { type: 'string', value: '<id>', help: 'the token id (default: a random one)' },
        typ: { type: 'string', value: '<typ>', help: 'the header typ, such as at+jwt' },
      },
      run: mint,
    },
    {
      name: 'inspect',
      summary: 'Show a token and whether a verifier would accept it',
      usage: '<token|-> (--dir <jwks dir> | --jwks-uri <url>) --iss <url> --aud <aud> [options]',
      description: `Prints the token's header and claims, then whether jwtVerifier would accept it and, if not, why.
Pass - to read the token from stdin (keeps it out of the process list).`,
      positionals: TOKEN_POSITIONAL,
      options: {
        dir: {
          type: 'string',
          value: '<jwks dir>',
          help: 'verify with the public keys of this key directory',
        },
        'jwks-uri': { type: 'string', value: '<url>', help: 'or with the JWKS at this URL' },
        iss: { type: 'string', value: '<url>', help: 'the expected issuer (required)' },
        aud: { type: 'string', multiple: true, value: '<aud>', help: 'an accepted audience (required)' },
        typ: { type: 'string', value: '<typ>', help: 'the required header typ' },
        alg: {
          type: 'string',
          multiple: true,
          value: '<alg>',
          help: `an accepted algorithm (default jwtVerifier's: ${VERIFIER_ALGORITHMS.join(', ')})`,
        },
        'max-lifetime': MAX_LIFETIME_OPTION,
      },
      json: '{ schema, accepted, header, claims, caller, scopes, expiresAt } or { schema, accepted: false, header, claims, reason }',
      exitCodes: '0 accepted, 1 refused (or a failure), 2 usage error',
      run: inspect,
    },
    {
      name: 'decode',
      summary: "Print a token's header and claims WITHOUT verifying it",
      usage: '<token|-> [--json]',
      description:
        'UNVERIFIED: nothing is checked (signature, issuer, audience, expiry); use inspect to verify.',
      positionals: TOKEN_POSITIONAL,
      json: '{ schema, verified: false, header, claims }',
      exitCodes: '0 decoded, 1 not a JWT, 2 usage error',
      run: decode,
    },
  ],
}
