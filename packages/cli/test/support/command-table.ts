import { PassThrough } from 'node:stream'
import type { Command } from '../../src/command.js'
import { allCommands, main } from '../../src/main.js'

/** `callsign <args>` run in this process, its stdout. */
async function helpOf(path: readonly string[]): Promise<string> {
  let stdout = ''
  const out = new PassThrough().setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  await main([...path, '--help'], { stdout: out, stderr: new PassThrough(), env: {} })
  return stdout
}

const cell = (text: string) => text.replaceAll('|', '\\|').replace(/\s+/g, ' ').trim()

/**
 * One README row per runnable command, made from its `--help` (not from the spec, so the README
 * is checked against what users see): the command, every flag, the `--json` shape, the exit codes.
 */
export async function commandTableRows(): Promise<string[][]> {
  const paths: string[][] = []
  const walk = (command: Command, path: string[]) => {
    if (command.subcommands) for (const sub of command.subcommands) walk(sub, [...path, sub.name])
    else paths.push(path)
  }
  for (const command of await allCommands()) walk(command, [command.name])
  const rows: string[][] = []
  for (const path of paths) {
    const help = await helpOf(path)
    const usage = help.split('\n')[0] ?? ''
    const summary = help.split('\n\n')[1]?.split('\n')[0] ?? ''
    // the positionals: the <words> of the usage line before the first option
    const rest = usage.slice(`Usage: callsign ${path.join(' ')}`.length).trim()
    const positionals = /^(?:<[^>]+>\s*)*/.exec(rest)?.[0].trim() ?? ''
    const name = ['callsign', ...path, ...(positionals ? [positionals] : [])].join(' ')
    const options = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? ''
    const flags = options
      .split('\n')
      .map((line) => /^ {2}(-\S.*?)(?: {2,}|$)/.exec(line)?.[1])
      .filter((flag): flag is string => flag !== undefined && flag !== '-h, --help')
      .map((flag) => `\`${flag}\``)
    const json = /^JSON \(--json\): (.*)$/m.exec(help)?.[1]
    const exit = /^Exit codes: (.*)\.$/m.exec(help)?.[1] ?? ''
    rows.push([
      cell(`\`${name}\``),
      cell(summary.replace(/\.$/, '')),
      cell(flags.join(' ')),
      json ? cell(`\`${json}\``) : '',
      cell(exit),
    ])
  }
  return rows
}

export const TABLE_HEADER = [
  'command',
  'what it does',
  'flags (all: `-h, --help`)',
  '`--json` shape',
  'exit codes',
]

/** The rows of the Markdown table between the README's command-table markers, cells trimmed. */
export function readmeTableRows(readme: string): string[][] {
  const section = readme.split('<!-- commands:start -->')[1]?.split('<!-- commands:end -->')[0] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((text) => text.trim()),
    )
}

/** The table as Markdown (Biome pads it when it formats the README). */
export function markdownTable(rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(TABLE_HEADER), line(TABLE_HEADER.map(() => '---')), ...rows.map(line)].join('\n')
}
