import { UsageError } from './command.js'

const DURATION = /^([1-9]\d{0,6})([smhd])$/
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * A command-line duration (`90s`, `15m`, `1h`, `30d`) in milliseconds. Anything else, zero included,
 * is a usage error naming the option.
 */
export function parseDuration(value: string, option: string): number {
  const match = DURATION.exec(value)
  if (!match && /^0+[smhd]$/.test(value)) {
    throw new UsageError(`${option} must be longer than zero, not ${JSON.stringify(value)}`)
  }
  if (!match) {
    throw new UsageError(
      `${option} must be a duration such as 90s, 15m, 1h or 30d, not ${JSON.stringify(value)}`,
    )
  }
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}
