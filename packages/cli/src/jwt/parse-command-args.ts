import { parseArgs } from 'node:util'
import { UsageError } from '../command.js'

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
}

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>
  readonly positionals: readonly string[]
}

/** parseArgs, strict, with its errors turned into usage errors (exit 2). */
export function parseCommandArgs(
  argv: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
  positionals = 0,
): ParsedArgs {
  let parsed: ParsedArgs
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as ParsedArgs
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'invalid arguments')
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`)
  }
  return parsed
}

/** A required string option, or a usage error naming it. */
export function required(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`--${name} is required`)
  return value
}

/** The values of a repeatable string option. */
export function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : []
}

/** An optional string option. */
export function optional(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}
