import { UsageError } from './command.js'

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `90d`, `12h`, `30m`, `45s` → milliseconds. Throws a UsageError naming the option otherwise. */
export function parseDuration(value: string, option: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(value)
  if (!match)
    throw new UsageError(`${option} must be a duration such as 90d, 12h, 30m or 45s, not "${value}"`)
  return Number(match[1]) * UNITS[match[2]!]!
}
