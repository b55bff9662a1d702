import { readFileSync } from 'node:fs'
import { ConfigError, isScope, loadPolicyFile } from '@callsign/core'
import { type Command, type CommandIo, EXIT, jsonOutput, type ParsedArgs, UsageError } from '../command.js'
import { list } from '../option-values.js'
import { plural } from '../plural.js'
import { matchRoute } from '../policy/match-route.js'
import { errorMessage } from '../report-error.js'

function check({ values, positionals, json }: ParsedArgs, io: CommandIo): number {
  const file = positionals[0]!
  const policy = load(file, io, json)
  if (!policy) return EXIT.failure
  const entries = policy.requirements.length
  if (values.routes === undefined) {
    if (json) io.stdout.write(jsonOutput('policy.check', { file, valid: true, entries }))
    else io.stdout.write(`${file}: valid, ${plural(entries, 'route entry', 'route entries')}\n`)
    return EXIT.ok
  }
  const coverage = policy.coverage(readRoutes(String(values.routes)))
  if (json) {
    io.stdout.write(
      jsonOutput('policy.check', {
        file,
        valid: true,
        entries,
        missing: coverage.missing,
        unused: coverage.unused,
      }),
    )
    return coverage.missing.length > 0 ? EXIT.failure : EXIT.ok
  }
  for (const key of coverage.missing)
    io.stdout.write(`missing  ${key}  (registered, no policy entry: refused at startup)\n`)
  for (const key of coverage.unused)
    io.stdout.write(`unused   ${key}  (policy entry matches no registered route)\n`)
  io.stdout.write(
    `${file}: ${plural(entries, 'entry', 'entries')}, ${plural(coverage.missing.length, 'route')} without an entry, ${plural(coverage.unused.length, 'entry', 'entries')} without a route\n`,
  )
  return coverage.missing.length > 0 ? EXIT.failure : EXIT.ok
}

function explain({ values, positionals, json }: ParsedArgs, io: CommandIo): number {
  const file = positionals[0]!
  const route = values.route
  if (typeof route !== 'string') throw new UsageError('--route is required, e.g. --route "GET /orders/1"')
  const caller = values.caller
  if (typeof caller !== 'string' || caller.length === 0) throw new UsageError('--caller is required')
  // --scope (repeatable, as everywhere else); --scopes a,b is still read
  const held = [
    ...list(values.scope),
    ...(typeof values.scopes === 'string' && values.scopes.length > 0 ? values.scopes.split(',') : []),
  ]
  for (const scope of held) {
    if (!isScope(scope))
      throw new UsageError(`--scope ${JSON.stringify(scope)} is not a "resource:action" scope`)
  }
  const policy = load(file, io, json)
  if (!policy) return EXIT.failure

  const requirement = matchRoute(policy, route)
  const lines: string[] = []
  const decide = (allowed: boolean, reason: string, extra: object = {}) => {
    if (json) {
      io.stdout.write(
        jsonOutput('policy.explain', {
          route,
          entry: requirement?.key ?? null,
          caller,
          held,
          decision: allowed ? 'allow' : 'deny',
          reason,
          ...extra,
        }),
      )
    } else io.stdout.write(`${lines.join('\n')}\n`)
    return allowed ? EXIT.ok : EXIT.failure
  }
  if (!requirement) {
    lines.push(`DENY  ${route}: no policy entry matches (403 ERR_ROUTE_NOT_IN_POLICY)`)
    return decide(false, 'ERR_ROUTE_NOT_IN_POLICY')
  }
  lines.push(`route     ${route} → entry "${requirement.key}"`)
  if (requirement.public) {
    lines.push('ALLOW     the route is public: no credential needed')
    return decide(true, 'public')
  }
  const grants = [...policy.grantsFor(caller)]
  const effective = new Set([...held, ...grants])
  lines.push(`requires  ${requirement.scopes.join(' ')}`)
  lines.push(
    `caller    ${caller} holds ${held.join(' ') || '(nothing)'}${grants.length ? `, granted here ${grants.join(' ')}` : ''}`,
  )
  const missing = requirement.scopes.filter((scope) => !effective.has(scope))
  const details = { requires: requirement.scopes, granted: grants, missing }
  if (missing.length > 0) {
    lines.push(`DENY      missing ${missing.join(' ')} (403 ERR_INSUFFICIENT_SCOPE)`)
    return decide(false, 'ERR_INSUFFICIENT_SCOPE', details)
  }
  lines.push('ALLOW     every required scope is held')
  return decide(true, 'granted', details)
}

function load(file: string, io: CommandIo, json: boolean) {
  try {
    return loadPolicyFile(file)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const message = errorMessage(error)
    io.stderr.write(`invalid policy: ${message}\n`)
    if (json) io.stdout.write(jsonOutput('policy.check', { file, valid: false, error: message }))
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

/** `callsign policy`: validate a policy file against an adapter's routes, or explain one decision. */
export const policyCommand: Command = {
  name: 'policy',
  summary: 'Check a policy file against routes, or explain a decision',
  subcommands: [
    {
      name: 'check',
      summary: 'Validate a policy file (JSON or YAML), optionally against the routes a service registered',
      usage: '<policy file> [--routes <route dump>] [--json]',
      description: `With --routes, a JSON list of the routes a service registered (as an adapter dumps them:
["GET /orders/:id", "/pkg.Svc/Method", …] or {"routes": [...]}), reports routes without an entry
(exit 1) and entries without a route.`,
      positionals: ['<policy file>'],
      options: {
        routes: { type: 'string', value: '<route dump>', help: "an adapter's route dump (routesFile)" },
      },
      json: '{ schema, file, valid, entries, missing?, unused? } (an invalid file: { schema, file, valid: false, error })',
      exitCodes:
        '0 valid (and every route has an entry), 1 invalid or routes without an entry, 2 usage error',
      run: check,
    },
    {
      name: 'explain',
      summary: 'Print the decision for a caller on a request, and why',
      usage: "<policy file> --caller <id> [--scope <s>…] --route '<METHOD> <path>'",
      description: `The caller holds the given scopes plus the policy's grants for it; the request line is such as
'GET /orders/1' or '/shop.v1.Inventory/Reserve'.`,
      positionals: ['<policy file>'],
      options: {
        caller: { type: 'string', value: '<id>', help: 'the caller (required)' },
        scope: { type: 'string', multiple: true, value: '<s>', help: 'a scope the caller holds' },
        scopes: {
          type: 'string',
          value: '<a,b>',
          help: 'the same, comma-separated (kept for older scripts)',
        },
        route: {
          type: 'string',
          value: "'<METHOD> <path>'",
          help: "the request, such as 'GET /orders/1' (required)",
        },
      },
      json: '{ schema, route, entry, caller, held, decision: "allow"|"deny", reason, requires?, granted?, missing? }',
      exitCodes: '0 allowed, 1 refused (or an invalid policy), 2 usage error',
      run: explain,
    },
  ],
}
