import type { Command } from './command.js'

const DEFAULT_EXIT_CODES = '0 ok, 1 failure, 2 usage error'

/** `--help` of a command or group, made from its spec: usage, description, every option, exit codes. */
export function formatHelp(command: Command, path: readonly string[]): string {
  const full = ['callsign', ...path].join(' ')
  if (command.subcommands) {
    const width = Math.max(...command.subcommands.map((sub) => sub.name.length), 8)
    return [
      `Usage: ${full} <subcommand> [options]`,
      '',
      ...(command.description ? [command.description.trimEnd(), ''] : []),
      'Subcommands:',
      ...command.subcommands.map((sub) => `  ${sub.name.padEnd(width)}  ${sub.summary}`),
      '',
      `Run \`${full} <subcommand> --help\` for the options of a subcommand.`,
      `Exit codes: ${command.exitCodes ?? DEFAULT_EXIT_CODES}.`,
      '',
    ].join('\n')
  }
  const rows = optionRows(command)
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  const lines = rows.flatMap(([left, right]) => {
    const [first, ...rest] = right.split('\n')
    return [`  ${left.padEnd(width)}${first}`, ...rest.map((line) => `  ${' '.repeat(width)}${line}`)]
  })
  return [
    `Usage: ${full}${command.usage ? ` ${command.usage}` : ''}`,
    '',
    command.summary.endsWith('.') ? command.summary : `${command.summary}.`,
    ...(command.description ? [command.description.trimEnd()] : []),
    '',
    'Options:',
    ...lines,
    '',
    ...(command.json ? [`JSON (--json): ${command.json}`, ''] : []),
    `Exit codes: ${command.exitCodes ?? DEFAULT_EXIT_CODES}.`,
    '',
  ].join('\n')
}

/** `[flag, what it does]` for each option, `--json` and `--help` included, as `--help` lists them. */
export function optionRows(command: Command): [string, string][] {
  const rows: [string, string][] = Object.entries(command.options ?? {}).map(([name, spec]) => [
    `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`,
    `${spec.help}${spec.multiple ? ' (repeatable)' : ''}`,
  ])
  if (command.json !== undefined) rows.push(['--json', 'print JSON (see below), errors included'])
  rows.push(['-h, --help', 'show this help'])
  return rows
}
