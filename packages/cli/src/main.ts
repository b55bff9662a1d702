import { ConfigError } from '@callsign/core'
import { type Command, type CommandIo, EXIT, UsageError } from './command.js'
import { certsCommand } from './commands/certs.js'
import { issuerCommand } from './commands/issuer.js'
import { jwksCommand } from './commands/jwks.js'
import { keysCommand } from './commands/keys.js'
import { policyCommand } from './commands/policy.js'
import { reviewCommand } from './commands/review.js'
import { tokensCommand } from './commands/tokens.js'

const commands: readonly Command[] = [
  keysCommand,
  jwksCommand,
  tokensCommand,
  certsCommand,
  policyCommand,
  reviewCommand,
  issuerCommand,
]

function help(): string {
  const width = Math.max(...commands.map((command) => command.name.length), 8)
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`)
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
    io.stdout.write(help())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const command = commands.find((candidate) => candidate.name === name)
  if (!command) {
    io.stderr.write(`callsign: unknown command "${name}"\n\n${help()}`)
    return EXIT.usage
  }
  try {
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
