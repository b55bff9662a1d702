import {
  createKeyDir,
  readKeyDir,
  rotateKeyDir,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '@callsign/jwt'
import { type Command, EXIT, UsageError } from '../command.js'
import { parseCommandArgs, required } from '../jwt/parse-command-args.js'

const HELP = `Usage: callsign jwks <subcommand> --dir <dir> [options]

Subcommands:
  generate --dir <dir> [--alg ES256]       Create a key directory with one signing key
  rotate   --dir <dir> [--publish|--promote] [--alg <alg>]
                                           Rotate the signing key. Without a flag: sign with a new key
                                           now (or with the published next key). --publish: publish a
                                           next key without signing with it; --promote: sign with it.
  show     --dir <dir>                     Print the public JWKS (never a private key)

Algorithms: ${SIGNING_ALGORITHMS.join(', ')}.
Layout: <dir>/jwks.json (public set), <dir>/state.json (current/next/previous kids),
<dir>/private/<kid>.json (private JWK, mode 0600).
`

const SUB_HELP: Record<string, string> = {
  generate:
    'Usage: callsign jwks generate --dir <dir> [--alg ES256]\n\nCreates <dir> with one signing key. Refuses a directory that already holds keys.\n',
  rotate:
    'Usage: callsign jwks rotate --dir <dir> [--publish | --promote] [--alg <alg>]\n\nThe old current key stays published as previous; the key before it is removed.\n',
  show: 'Usage: callsign jwks show --dir <dir>\n\nPrints the public JWKS (current, next and previous keys) as JSON.\n',
}

function alg(value: unknown): SigningAlgorithm | undefined {
  if (value === undefined) return undefined
  if (!SIGNING_ALGORITHMS.includes(value as SigningAlgorithm)) {
    throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}`)
  }
  return value as SigningAlgorithm
}

/** `callsign jwks`: generate, rotate and show JWT signing keys in a key directory. */
export const jwksCommand: Command = {
  name: 'jwks',
  summary: 'Generate, rotate and show JWT signing keys',
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout.write(HELP)
      return sub === undefined ? EXIT.usage : EXIT.ok
    }
    const subHelp = SUB_HELP[sub]
    if (!Object.hasOwn(SUB_HELP, sub) || subHelp === undefined)
      throw new UsageError(`unknown subcommand "${sub}"`)
    const { values } = parseCommandArgs(rest, {
      dir: { type: 'string' },
      alg: { type: 'string' },
      publish: { type: 'boolean' },
      promote: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    })
    if (values.help) {
      io.stdout.write(subHelp)
      return EXIT.ok
    }
    const dir = required(values.dir, 'dir')
    if (sub === 'generate') {
      const created = await createKeyDir(dir, { alg: alg(values.alg) ?? 'ES256' })
      io.stdout.write(`created ${dir} with signing key ${created.current.kid} (${created.current.alg})\n`)
      return EXIT.ok
    }
    if (sub === 'rotate') {
      if (values.publish && values.promote) throw new UsageError('--publish and --promote exclude each other')
      const step = values.publish ? 'publish' : values.promote ? 'promote' : 'rotate'
      const rotated = await rotateKeyDir(dir, { step, alg: alg(values.alg) })
      const lines = [
        `signing key: ${rotated.current.kid} (${rotated.current.alg})`,
        ...(rotated.nextKid ? [`next key (published, not signing): ${rotated.nextKid}`] : []),
        ...(rotated.previousKid ? [`previous key (published): ${rotated.previousKid}`] : []),
      ]
      io.stdout.write(`${lines.join('\n')}\n`)
      return EXIT.ok
    }
    const { publicJwks } = await readKeyDir(dir)
    io.stdout.write(`${JSON.stringify(publicJwks, null, 2)}\n`)
    return EXIT.ok
  },
}
