import { createReadStream, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { AuditEvent } from '@callsign/core'

export interface AuditReadStats {
  files: number
  events: number
  /** Lines that were not an audit event: counted and skipped, never fatal. */
  corrupt: number
  /** Events the writers reported as dropped (`{"dropped":N}` lines). */
  dropped: number
}

/** The files behind `--audit` arguments: each a file, or a folder whose `*.jsonl`/`*.log` files are read. */
export function auditFiles(paths: readonly string[]): string[] {
  const files: string[] = []
  for (const path of paths) {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (/\.(jsonl|log|ndjson)$/.test(name)) files.push(join(path, name))
      }
    } else files.push(path)
  }
  return files
}

/**
 * Streams audit events out of JSON-lines files, one line at a time, so a log of any size is read
 * in constant memory. Corrupt lines are counted in `stats` and skipped.
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
    for await (const line of lines) {
      if (line.length === 0) continue
      const event = parse(line)
      if (event === undefined) stats.corrupt++
      else if (typeof event === 'number') stats.dropped += event
      else {
        stats.events++
        yield event
      }
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
