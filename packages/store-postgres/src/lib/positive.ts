import { ConfigError } from '@callsign/core'

/** A positive number option, or its default; anything else is a `ConfigError` naming it. */
export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number`)
  return value
}

/** The `poolSize` option: a positive integer, default 10. */
export function poolSizeOf(value: number | undefined, where: string): number {
  const size = value ?? 10
  if (!Number.isSafeInteger(size) || size < 1)
    throw new ConfigError(`${where}: "poolSize" must be a positive integer`)
  return size
}
