import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditSink } from './audit-event.js'
import { ConfigError } from './auth-error.js'

export interface JsonLinesAuditSinkOptions {
  /** Events wait in memory up to this many bytes; past it they are dropped and counted. Default 4 MiB. */
  readonly maxBufferedBytes?: number
}

export interface JsonLinesAuditSink extends AuditSink {
  /** Events dropped because the destination could not keep up. */
  readonly dropped: number
  /** Flushes and closes a file the sink opened; leaves a stream it was given open. */
  close(): Promise<void>
}

/**
 * Writes audit events as JSON lines to a file (appended, mode 0600) or a stream. Writing never
 * blocks the request path: events are buffered up to a bound, and when the destination cannot
 * keep up the overflow is dropped, counted, and reported as a `dropped` line once it drains.
 *
 * @example
 * const audit = jsonLinesAuditSink('/var/log/orders/audit.jsonl')
 */
export function jsonLinesAuditSink(
  destination: string | Writable,
  options: JsonLinesAuditSinkOptions = {},
): JsonLinesAuditSink {
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024
  if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1024) {
    throw new ConfigError('maxBufferedBytes must be an integer of at least 1024')
  }
  const owned = typeof destination === 'string'
  const stream = owned ? createWriteStream(destination, { flags: 'a', mode: 0o600 }) : destination
  let dropped = 0
  let unreported = 0
  let failed = false
  stream.on('error', (error: Error) => {
    if (!failed) process.emitWarning(`audit sink failed: ${error.message}`, { code: 'CALLSIGN_AUDIT' })
    failed = true
  })

  return {
    write(event: AuditEvent) {
      if (failed || stream.writableLength > maxBuffered) {
        dropped++
        unreported++
        return
      }
      if (unreported > 0) {
        const notice = { v: AUDIT_SCHEMA_VERSION, time: event.time, dropped: unreported }
        stream.write(`${JSON.stringify(notice)}\n`)
        unreported = 0
      }
      stream.write(`${JSON.stringify(event)}\n`)
    },
    get dropped() {
      return dropped
    },
    close() {
      if (!owned) return Promise.resolve()
      return new Promise<void>((done) => stream.end(done))
    },
  }
}
