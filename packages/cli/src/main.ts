import { readFileSync } from 'node:fs'
import { type Command, type CommandIo, EXIT, UsageError } from './command.js'
import { formatHelp } from './format-help.js'
import { parseCommandLine } from './parse-command-line.js'
import { reportError } from './report-error.js'

/**
 * The command registry: each top-level command's module, loaded only when that command runs
 * (`callsign policy check` does not load the issuer, the key store or the certificate tools).
 */
const commands: Readonly<Record<string, () => Promise<Command>>> = {
  keys: async () => (await import('./commands/keys.js')).keysCommand,
  store: async () => (await import('./commands/store.js')).storeCommand,
  jwks: async () => (await import('./commands/jwks.js')).jwksCommand,
  tokens: async () => (await import('./commands/tokens.js')).tokensCommand,
  certs: async () => (await import('./commands/certs.js')).certsCommand,
  policy: async () => (await import('./commands/policy.js')).policyCommand,
  review: async () => (await import('./commands/review.js')).reviewCommand,
  issuer: async () => (await import('./commands/issuer.js')).issuerCommand,
}

/** Every top-level command, loaded: for the top-level help and the README's table. */
export async function allCommands(): Promise<Command[]> {
  return Promise.all(Object.values(commands).map((load) => load()))
}

/** The version of this package, for `callsign --version`. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

async function topHelp(): Promise<string> {
  const all = await allCommands()
  const width = Math.max(...all.map((command) => command.name.length), 8)
  return [
    'Usage: callsign <command> [options]',
    '',
    'Commands:',
    ...all.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `callsign <command> --help` (or `callsign help <command>`) for the options of a command.',
    '  --version     print the version',
    'Exit codes: 0 ok, 1 failure or findings, 2 usage error.',
    '',
  ].join('\n')
}

const isHelp = (word: string | undefined) => word === '--help' || word === '-h' || word === 'help'

/** Runs `callsign` with the given arguments and resolves to the exit code. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === '--version' || name === '-V') {
    io.stdout.write(`callsign ${version()}\n`)
    return EXIT.ok
  }
  if (name === undefined) {
    io.stderr.write(await topHelp())
    return EXIT.usage
  }
  // `callsign help keys create` is `callsign keys create --help`
  if (name === 'help' && rest.length > 0) return main([...rest, '--help'], io)
  if (isHelp(name)) {
    io.stdout.write(await topHelp())
    return EXIT.ok
  }
  if (!Object.hasOwn(commands, name)) {
    io.stderr.write(`callsign: unknown command ${JSON.stringify(name)}\n\n${await topHelp()}`)
    return EXIT.usage
  }
  let command = await (commands[name] as () => Promise<Command>)()
  const path = [name]
  let args = rest
  while (command.subcommands) {
    const [sub, ...more] = args
    if (sub === undefined) {
      io.stderr.write(formatHelp(command, path))
      return EXIT.usage
    }
    if (isHelp(sub)) {
      if (sub === 'help' && more.length > 0) return main([...path, ...more, '--help'], io)
      io.stdout.write(formatHelp(command, path))
      return EXIT.ok
    }
    const found = command.subcommands.find((candidate) => candidate.name === sub)
    if (!found) {
      return reportError(
        new UsageError(`unknown subcommand ${JSON.stringify(sub)}`),
        command,
        path,
        false,
        io,
      )
    }
    command = found
    path.push(sub)
    args = more
  }
  const json = command.json !== undefined && args.includes('--json')
  try {
    const parsed = parseCommandLine(command, args)
    if (parsed.help) {
      io.stdout.write(formatHelp(command, path))
      return EXIT.ok
    }
    if (!command.run) throw new Error(`callsign ${path.join(' ')} cannot run`)
    return await command.run(parsed, io)
  } catch (error) {
    return reportError(error, command, path, json, io)
  }
}
