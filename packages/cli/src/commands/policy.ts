import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError, isScope, loadPolicyFile } from '@callsign/core'
import { type Command, type CommandIo, EXIT, UsageError } from '../command.js'
import { matchRoute } from '../policy/match-route.js'

const HELP = `Usage:
  callsign policy check <policy file> [--routes <route dump>]
  callsign policy explain <policy file> --caller <id> [--scopes a:read,b:write] --route '<METHOD> <path>'

check     validates a policy file (JSON or YAML); with --routes, a JSON list of the routes a service
          registered (as an adapter dumps them: ["GET /orders/:id", "/pkg.Svc/Method", …] or
          {"routes": [...]}), reports routes without an entry (exit 1) and entries without a route.
explain   prints the decision for a caller holding the given scopes (plus the policy's grants for
          that caller) on a request line such as 'GET /orders/1' or '/shop.v1.Inventory/Reserve'.

Exit codes: 0 valid / allowed, 1 invalid / refused / routes missing, 2 usage error.
`

export const policyCommand: Command = {
  name: 'policy',
  summary: 'Check a policy file against routes, or explain a decision',
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout.write(HELP)
      return sub === undefined ? EXIT.usage : EXIT.ok
    }
    if (sub === 'check') return check(rest, io)
    if (sub === 'explain') return explain(rest, io)
    throw new UsageError(`unknown subcommand "${sub}"`)
  },
}

function check(argv: readonly string[], io: CommandIo): number {
  const { values, positionals } = parse(argv, ['routes'])
  if (values.help) return help(io)
  const file = onePositional(positionals)
  const policy = load(file, io)
  if (!policy) return EXIT.failure
  const entries = policy.requirements.length
  if (values.routes === undefined) {
    io.stdout.write(`${file}: valid, ${entries} route entries\n`)
    return EXIT.ok
  }
  const coverage = policy.coverage(readRoutes(String(values.routes)))
  for (const key of coverage.missing)
    io.stdout.write(`missing  ${key}  (registered, no policy entry: refused at startup)\n`)
  for (const key of coverage.unused)
    io.stdout.write(`unused   ${key}  (policy entry matches no registered route)\n`)
  io.stdout.write(
    `${file}: ${entries} entries, ${coverage.missing.length} route(s) without an entry, ${coverage.unused.length} entr(y/ies) without a route\n`,
  )
  return coverage.missing.length > 0 ? EXIT.failure : EXIT.ok
}

function explain(argv: readonly string[], io: CommandIo): number {
  const { values, positionals } = parse(argv, ['caller', 'scopes', 'route'])
  if (values.help) return help(io)
  const file = onePositional(positionals)
  if (typeof values.route !== 'string')
    throw new UsageError('--route is required, e.g. --route "GET /orders/1"')
  if (typeof values.caller !== 'string' || values.caller.length === 0)
    throw new UsageError('--caller is required')
  const held = typeof values.scopes === 'string' && values.scopes.length > 0 ? values.scopes.split(',') : []
  for (const scope of held) if (!isScope(scope)) throw new UsageError(`--scopes: "${scope}" is not a scope`)
  const policy = load(file, io)
  if (!policy) return EXIT.failure

  const requirement = matchRoute(policy, values.route)
  const say = (line: string) => io.stdout.write(`${line}\n`)
  if (!requirement) {
    say(`DENY  ${values.route}: no policy entry matches (403 ERR_ROUTE_NOT_IN_POLICY)`)
    return EXIT.failure
  }
  say(`route     ${values.route} → entry "${requirement.key}"`)
  if (requirement.public) {
    say('ALLOW     the route is public: no credential needed')
    return EXIT.ok
  }
  const grants = [...policy.grantsFor(values.caller)]
  const effective = new Set([...held, ...grants])
  say(`requires  ${requirement.scopes.join(' ')}`)
  say(
    `caller    ${values.caller} holds ${held.join(' ') || '(nothing)'}${grants.length ? `, granted here ${grants.join(' ')}` : ''}`,
  )
  const missing = requirement.scopes.filter((scope) => !effective.has(scope))
  if (missing.length > 0) {
    say(`DENY      missing ${missing.join(' ')} (403 ERR_INSUFFICIENT_SCOPE)`)
    return EXIT.failure
  }
  say('ALLOW     every required scope is held')
  return EXIT.ok
}

function load(file: string, io: CommandIo) {
  try {
    return loadPolicyFile(file)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.stderr.write(`invalid policy: ${error.message}\n`)
    return undefined
  }
}

function readRoutes(file: string): string[] {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (cause) {
    throw new ConfigError(`cannot read the route dump ${file}: expected a JSON list of route keys`, { cause })
  }
  const list = Array.isArray(value) ? value : (value as { routes?: unknown })?.routes
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw new ConfigError(`the route dump ${file} must be a JSON list of route keys, or {"routes": [...]}`)
  }
  return list
}

function help(io: CommandIo): number {
  io.stdout.write(HELP)
  return EXIT.ok
}

function onePositional(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('expected exactly one policy file')
  return positionals[0]!
}

const OPTIONS = {
  routes: { type: 'string' },
  caller: { type: 'string' },
  scopes: { type: 'string' },
  route: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

function parse(argv: readonly string[], allowed: readonly (keyof typeof OPTIONS)[]) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  for (const name of Object.keys(parsed.values)) {
    if (name !== 'help' && !allowed.includes(name as keyof typeof OPTIONS)) {
      throw new UsageError(`unknown option '--${name}'`)
    }
  }
  return parsed
}
