import {
  createKeyDir,
  readKeyDir,
  rotateKeyDir,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '@callsign/jwt'
import { type Command, type CommandIo, EXIT, jsonOutput, type ParsedArgs, UsageError } from '../command.js'
import { required } from '../option-values.js'
import { VERIFIER_ALGORITHMS } from './tokens.js'

function alg(value: unknown): SigningAlgorithm | undefined {
  if (value === undefined) return undefined
  if (!SIGNING_ALGORITHMS.includes(value as SigningAlgorithm)) {
    throw new UsageError(
      `--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}, not ${JSON.stringify(value)}`,
    )
  }
  return value as SigningAlgorithm
}

/** Says so when verifiers with jwtVerifier's defaults would refuse tokens signed with `used`. */
function warnAlgorithm(used: string, io: CommandIo): void {
  if ((VERIFIER_ALGORITHMS as readonly string[]).includes(used)) return
  io.stderr.write(
    `warning: ${used} is not in jwtVerifier's default algorithms (${VERIFIER_ALGORITHMS.join(', ')}); verifiers must list it in \`algorithms\` (and \`callsign tokens inspect --alg ${used}\`)\n`,
  )
}

const DIR_OPTION = { type: 'string', value: '<dir>', help: 'the key directory (required)' } as const
const ALG_OPTION = {
  type: 'string',
  value: '<alg>',
  help: `the algorithm: ${SIGNING_ALGORITHMS.join(', ')} (default ES256;\njwtVerifier accepts ${VERIFIER_ALGORITHMS.join(', ')} unless told otherwise)`,
} as const

async function generate({ values, json }: ParsedArgs, io: CommandIo): Promise<number> {
  const dir = required(values.dir, 'dir')
  const created = await createKeyDir(dir, { alg: alg(values.alg) ?? 'ES256' })
  warnAlgorithm(created.current.alg, io)
  if (json) {
    io.stdout.write(
      jsonOutput('jwks.generate', { dir, current: { kid: created.current.kid, alg: created.current.alg } }),
    )
  } else io.stderr.write(`created ${dir} with signing key ${created.current.kid} (${created.current.alg})\n`)
  return EXIT.ok
}

async function rotate({ values, json }: ParsedArgs, io: CommandIo): Promise<number> {
  const dir = required(values.dir, 'dir')
  if (values.publish && values.promote) throw new UsageError('--publish and --promote exclude each other')
  const step = values.publish ? 'publish' : values.promote ? 'promote' : 'rotate'
  const rotated = await rotateKeyDir(dir, { step, alg: alg(values.alg) })
  warnAlgorithm(rotated.current.alg, io)
  if (json) {
    io.stdout.write(
      jsonOutput('jwks.rotate', {
        dir,
        step,
        current: { kid: rotated.current.kid, alg: rotated.current.alg },
        nextKid: rotated.nextKid ?? null,
        previousKid: rotated.previousKid ?? null,
      }),
    )
    return EXIT.ok
  }
  const lines = [
    `signing key: ${rotated.current.kid} (${rotated.current.alg})`,
    ...(rotated.nextKid ? [`next key (published, not signing): ${rotated.nextKid}`] : []),
    ...(rotated.previousKid ? [`previous key (published): ${rotated.previousKid}`] : []),
  ]
  io.stderr.write(`${lines.join('\n')}\n`)
  return EXIT.ok
}

async function show({ values }: ParsedArgs, io: CommandIo): Promise<number> {
  const { publicJwks } = await readKeyDir(required(values.dir, 'dir'))
  io.stdout.write(`${JSON.stringify(publicJwks, null, 2)}\n`)
  return EXIT.ok
}

/** `callsign jwks`: generate, rotate and show JWT signing keys in a key directory. */
export const jwksCommand: Command = {
  name: 'jwks',
  summary: 'Generate, rotate and show JWT signing keys',
  description: `Layout: <dir>/jwks.json (public set), <dir>/state.json (current/next/previous kids),
<dir>/private/<kid>.json (private JWK, mode 0600).`,
  subcommands: [
    {
      name: 'generate',
      summary: 'Create a key directory with one signing key',
      usage: '--dir <dir> [--alg ES256] [--json]',
      description: 'Refuses a directory that already holds keys.',
      options: { dir: DIR_OPTION, alg: ALG_OPTION },
      json: '{ schema, dir, current: { kid, alg } }',
      run: generate,
    },
    {
      name: 'rotate',
      summary: 'Rotate the signing key',
      usage: '--dir <dir> [--publish | --promote] [--alg <alg>] [--json]',
      description: `Without a flag: sign with a new key now (or with the published next key). The old current key
stays published as previous; the key before it is removed.`,
      options: {
        dir: DIR_OPTION,
        publish: { type: 'boolean', help: 'publish a next key without signing with it' },
        promote: { type: 'boolean', help: 'sign with the published next key' },
        alg: ALG_OPTION,
      },
      json: '{ schema, dir, step, current: { kid, alg }, nextKid, previousKid }',
      run: rotate,
    },
    {
      name: 'show',
      summary: 'Print the public JWKS (never a private key)',
      usage: '--dir <dir>',
      description:
        'Prints the public JWKS (current, next and previous keys) as JSON: the RFC 7517 shape, unversioned.',
      options: { dir: DIR_OPTION },
      run: show,
    },
  ],
}
