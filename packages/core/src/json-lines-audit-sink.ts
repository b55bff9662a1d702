import { type FileHandle, open } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditSink } from './audit-event.js'
import { ConfigError } from './auth-error.js'
import type { HealthStatus } from './health.js'
import { checkLogger, type Logger, warn } from './logger.js'

export interface JsonLinesAuditSinkOptions {
  /** Events wait in memory up to this many bytes; past it they are dropped and counted. Default 4 MiB. */
  readonly maxBufferedBytes?: number
  /** After a write error, the first retry comes after this many ms, then twice as long each time up to 5 s. Default 100. */
  readonly retryMs?: number
  /** Where the write-failure warning goes: a pino-compatible logger. Default: a process warning. */
  readonly logger?: Logger
}

/** What a health endpoint can say about the audit trail. */
export interface AuditSinkHealth {
  /** For `pipeline.health()`: `failing` as `state`; `degraded` once an event was dropped. */
  readonly status: HealthStatus
  /** `failing` from a write error until a retry succeeds; events wait (up to the buffer) meanwhile. */
  readonly state: 'ok' | 'failing'
  /** Events lost since the sink was created (the buffer was full). Each is also in a `dropped` line. */
  readonly dropped: number
  /** Events waiting to be written. */
  readonly pending: number
  /** The error code of the failing writes (`ENOSPC`, `EIO` …); null when ok. */
  readonly lastError: string | null
}

export interface JsonLinesAuditSink extends AuditSink {
  /** Events dropped because the destination could not keep up or kept failing. */
  readonly dropped: number
  health(): AuditSinkHealth
  /** Writes what it can, then closes a file the sink opened; leaves a stream it was given open. */
  close(): Promise<void>
}

const MAX_RETRY_MS = 5000
const NEWLINE = Buffer.from('\n')

/** A line waiting to be written: an event, or the notice of events dropped before it. */
interface Line {
  readonly bytes: Buffer
  readonly event: boolean
}

/**
 * Writes audit events as JSON lines to a file (appended, mode 0600) or a stream. Writing never
 * blocks the request path: events wait in a bounded buffer, and when it is full they are dropped,
 * counted, and reported by a `{"v":1,"time":…,"dropped":N}` line in their place. After a write
 * error (a full disk) the sink keeps the waiting events, retries with a growing delay, and resumes
 * once a write succeeds: a line cut short by the error is closed with a newline and written again
 * in full, so no event that was waiting is lost and every lost one is counted. `health()` tells a
 * health endpoint whether the trail is being written.
 *
 * @example
 * const audit = jsonLinesAuditSink('/var/log/orders/audit.jsonl')
 * // later, in a health check: audit.health().state === 'ok'
 */
export function jsonLinesAuditSink(
  destination: string | Writable,
  options: JsonLinesAuditSinkOptions = {},
): JsonLinesAuditSink {
  const logger = checkLogger(options.logger, 'jsonLinesAuditSink')
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024
  if (!Number.isSafeInteger(maxBuffered) || maxBuffered < 1024) {
    throw new ConfigError('maxBufferedBytes must be an integer of at least 1024')
  }
  const firstRetryMs = options.retryMs ?? 100
  if (!Number.isFinite(firstRetryMs) || firstRetryMs <= 0) {
    throw new ConfigError('retryMs must be a positive number')
  }
  const target = typeof destination === 'string' ? fileTarget(destination) : streamTarget(destination)

  const queue: Line[] = []
  let queuedBytes = 0
  let pendingEvents = 0
  let dropped = 0
  /** Dropped events not yet in a `dropped` line of the queue. */
  let unreported = 0
  /** The destination may end in a line cut short by a failed write. */
  let brokenLine = false
  let writing = false
  let failing = false
  let lastError: string | null = null
  let retryMs = firstRetryMs
  let retryTimer: NodeJS.Timeout | undefined
  let closed = false

  const enqueue = (text: string, event: boolean) => {
    const bytes = Buffer.from(text, 'utf8')
    queue.push({ bytes, event })
    queuedBytes += bytes.length
    if (event) pendingEvents++
  }
  const reportDrops = (time: string) => {
    if (unreported === 0) return
    enqueue(`${JSON.stringify({ v: AUDIT_SCHEMA_VERSION, time, dropped: unreported })}\n`, false)
    unreported = 0
  }

  /** Writes the queue until it is empty or a write fails; on failure, schedules a retry. */
  const flush = async () => {
    if (writing) return
    writing = true
    try {
      while (queue.length > 0) {
        // A line cut short earlier is closed first, so the next one starts on a line of its own.
        const prefixed = brokenLine
        const lines = queue.map((line) => line.bytes)
        const result = await target.write(prefixed ? [NEWLINE, ...lines] : lines)
        if (result.lines > 0 || result.partial) brokenLine = result.partial
        const written = prefixed ? Math.max(0, result.lines - 1) : result.lines
        for (const line of queue.splice(0, written)) {
          queuedBytes -= line.bytes.length
          if (line.event) pendingEvents--
        }
        if (result.error !== undefined) {
          if (!failing) {
            warn(logger, 'CALLSIGN_AUDIT', `audit sink cannot write (${codeOf(result.error)}); retrying`)
          }
          failing = true
          lastError = codeOf(result.error)
          if (!closed) {
            retryTimer = setTimeout(() => {
              retryTimer = undefined
              void flush()
            }, retryMs)
            retryTimer.unref()
            retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
          }
          return
        }
        failing = false
        lastError = null
        retryMs = firstRetryMs
      }
    } finally {
      writing = false
    }
  }

  return {
    write(event: AuditEvent) {
      if (closed) return
      const line = `${JSON.stringify(event)}\n`
      if (queuedBytes + line.length > maxBuffered) {
        dropped++
        unreported++
        return
      }
      reportDrops(event.time)
      enqueue(line, true)
      if (!failing) void flush()
    },
    get dropped() {
      return dropped
    },
    health() {
      const status = failing ? 'failing' : dropped > 0 ? 'degraded' : 'ok'
      return { status, state: failing ? 'failing' : 'ok', dropped, pending: pendingEvents, lastError }
    },
    async close() {
      if (closed) return
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      reportDrops(new Date().toISOString())
      while (writing) await new Promise((resolve) => setImmediate(resolve))
      await flush()
      dropped += pendingEvents // still failing: what waits now is lost
      await target.close()
    },
  }
}

interface WriteResult {
  /** How many of the given lines reached the destination whole. */
  readonly lines: number
  /** The destination ends in part of the next line. */
  readonly partial: boolean
  readonly error?: unknown
}

interface Target {
  write(lines: readonly Buffer[]): Promise<WriteResult>
  close(): Promise<void>
}

/** A file opened for appending (mode 0600), opened again after a failed write. */
function fileTarget(path: string): Target {
  let handle: FileHandle | undefined
  return {
    async write(lines) {
      const data = Buffer.concat(lines)
      let offset = 0
      try {
        handle ??= await open(path, 'a', 0o600)
        while (offset < data.length) {
          const { bytesWritten } = await handle.write(data, offset, data.length - offset)
          offset += bytesWritten
        }
        return { lines: lines.length, partial: false }
      } catch (error) {
        await handle?.close().catch(() => {})
        handle = undefined
        let whole = 0
        let end = 0
        for (const line of lines) {
          if (end + line.length > offset) break
          end += line.length
          whole++
        }
        return { lines: whole, partial: offset > end, error }
      }
    },
    async close() {
      await handle?.close().catch(() => {})
      handle = undefined
    },
  }
}

/** A stream the caller owns: each line is one write, and its callback says whether it went out. */
function streamTarget(stream: Writable): Target {
  stream.on('error', () => {}) // reported through the write callbacks
  return {
    async write(lines) {
      const results = await Promise.all(
        lines.map(
          (line) =>
            new Promise<unknown>((done) => {
              try {
                stream.write(line, (error) => done(error ?? undefined))
              } catch (error) {
                done(error)
              }
            }),
        ),
      )
      const failed = results.findIndex((error) => error !== undefined)
      if (failed === -1) return { lines: lines.length, partial: false }
      return { lines: failed, partial: false, error: results[failed] }
    },
    async close() {},
  }
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'write_failed'
}
