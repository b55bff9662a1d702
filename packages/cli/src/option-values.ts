import { UsageError } from './command.js'

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
