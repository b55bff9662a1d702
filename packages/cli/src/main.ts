import { ConfigError } from '@callsign/core'
import { type Command, type CommandIo, EXIT, UsageError } from './command.js'

/**
 * Each command's module, loaded only when that command runs: `callsign policy check` does not load
 * the issuer, the key store or the certificate tools, so every command starts quicker.
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

async function help(): Promise<string> {
  const all = await Promise.all(Object.values(commands).map((load) => load()))
  const width = Math.max(...all.map((command) => command.name.length), 8)
  const lines = all.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`)
  return [
    'Usage: callsign <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `callsign <command> --help` for the options of a command.',
    'Exit codes: 0 ok, 1 failure or findings, 2 usage error.',
    '',
  ].join('\n')
}

/** Runs `callsign` with the given arguments and resolves to the exit code. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(await help())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (!Object.hasOwn(commands, name)) {
    io.stderr.write(`callsign: unknown command "${name}"\n\n${await help()}`)
    return EXIT.usage
  }
  try {
    const command = await (commands[name] as () => Promise<Command>)()
    return await command.run(rest, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`callsign ${name}: ${error.message}\nRun \`callsign ${name} --help\` for usage.\n`)
      return EXIT.usage
    }
    if (error instanceof ConfigError || (error instanceof Error && 'code' in error)) {
      io.stderr.write(`callsign ${name}: ${error.message}\n`)
      return EXIT.failure
    }
    io.stderr.write(`callsign ${name}: ${error instanceof Error ? error.message : String(error)}\n`)
    return EXIT.failure
  }
}
