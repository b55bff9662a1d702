import { createReadStream, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { type AuditEvent, ConfigError } from '@callsign/core'
import { plural } from '../plural.js'

export interface AuditReadStats {
  files: number
  events: number
  /** Lines that were not an audit event: counted and skipped, never fatal. */
  corrupt: number
  /** Events the writers reported as dropped (`{"dropped":N}` lines). */
  dropped: number
  /** The time of the earliest and the latest event read (ISO), `null` before any. */
  first: string | null
  last: string | null
}

/**
 * The files behind `--audit` arguments: each a file, or a folder whose `*.jsonl`/`*.log` files are
 * read. A path that does not exist, or a folder without a log, is a ConfigError naming it: a review
 * must not pass because its input is missing.
 */
export function auditFiles(paths: readonly string[]): string[] {
  const files: string[] = []
  for (const path of paths) {
    let folder: boolean
    try {
      folder = statSync(path).isDirectory()
    } catch (cause) {
      throw new ConfigError(`--audit ${path}: cannot read it`, { cause })
    }
    if (!folder) {
      files.push(path)
      continue
    }
    const logs = readdirSync(path)
      .sort()
      .filter((name) => /\.(jsonl|log|ndjson)$/.test(name))
    if (logs.length === 0)
      throw new ConfigError(`--audit ${path}: the folder holds no *.jsonl, *.log or *.ndjson file`)
    files.push(...logs.map((name) => join(path, name)))
  }
  return files
}

/** The stats of a read that has not started. */
export function emptyStats(): AuditReadStats {
  return { files: 0, events: 0, corrupt: 0, dropped: 0, first: null, last: null }
}

/**
 * Streams audit events out of JSON-lines files, one line at a time, so a log of any size is read
 * in constant memory. Corrupt lines are counted in `stats` and skipped; a file with lines but not
 * one audit event among them is a ConfigError (the wrong file, or a ruined one), so a review never
 * passes on input it could not read.
 */
export async function* readAuditLog(
  files: readonly string[],
  stats: AuditReadStats,
): AsyncGenerator<AuditEvent> {
  for (const file of files) {
    stats.files++
    const lines = createInterface({
      input: createReadStream(file, { encoding: 'utf8' }),
      crlfDelay: Number.POSITIVE_INFINITY,
    })
    let events = 0
    let corrupt = 0
    try {
      for await (const line of lines) {
        if (line.length === 0) continue
        const event = parse(line)
        if (event === undefined) corrupt++
        else if (typeof event === 'number') stats.dropped += event
        else {
          events++
          const time = Date.parse(event.time)
          if (stats.first === null || time < Date.parse(stats.first)) stats.first = event.time
          if (stats.last === null || time > Date.parse(stats.last)) stats.last = event.time
          yield event
        }
      }
    } catch (cause) {
      throw new ConfigError(`--audit ${file}: cannot read it`, { cause })
    }
    stats.events += events
    stats.corrupt += corrupt
    if (events === 0 && corrupt > 0) {
      throw new ConfigError(
        `--audit ${file}: none of its ${plural(corrupt, 'line')} is an audit event (a JSON line with "v": 1, "time", "decision" and "scopes")`,
      )
    }
  }
}

function parse(line: string): AuditEvent | number | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  if (record.v !== 1 || typeof record.time !== 'string') return undefined
  if (typeof record.dropped === 'number' && record.decision === undefined) return record.dropped
  if (typeof record.decision !== 'string' || !Array.isArray(record.scopes)) return undefined
  if (Number.isNaN(Date.parse(record.time))) return undefined
  return value as AuditEvent
}
