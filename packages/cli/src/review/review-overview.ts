import type { AuditEvent } from '@callsign/core'

/** Decisions of one day, by outcome. */
export interface DayOfDecisions {
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string
  allow: number
  deny: number
  'would-deny': number
}

/** What the charts of the HTML report show beside the findings, gathered while the log is read. */
export interface ReviewOverview {
  /** Every day with a decision, in order. */
  readonly days: readonly DayOfDecisions[]
  /** Per caller, the scopes its allowed calls used in the scope window. */
  readonly scopesUsed: ReadonlyMap<string, ReadonlySet<string>>
}

/**
 * Watches the audit events on their way to the review: decisions per day and outcome (one entry per
 * day, so memory grows with the span of the log, not its size) and the scopes each caller used since
 * `windowStart`. Hand `observe(events)` to `reviewAccess` in place of the events, then read `result()`.
 *
 * @example
 * const overview = reviewOverview(windowStart)
 * const report = await reviewAccess(credentials, overview.observe(events), now)
 * writeHtml(report, overview.result())
 */
export function reviewOverview(windowStart: number) {
  const days = new Map<string, DayOfDecisions>()
  const scopesUsed = new Map<string, Set<string>>()
  return {
    async *observe(events: AsyncIterable<AuditEvent>): AsyncIterable<AuditEvent> {
      for await (const event of events) {
        const time = Date.parse(event.time)
        if (!Number.isNaN(time)) {
          const day = new Date(time).toISOString().slice(0, 10)
          const entry = days.get(day) ?? { day, allow: 0, deny: 0, 'would-deny': 0 }
          days.set(day, entry)
          if (event.decision in entry) entry[event.decision] += 1
          if (event.decision === 'allow' && event.caller !== undefined && time >= windowStart) {
            const used = scopesUsed.get(event.caller) ?? new Set<string>()
            scopesUsed.set(event.caller, used)
            for (const scope of event.scopes) used.add(scope)
          }
        }
        yield event
      }
    },
    result(): ReviewOverview {
      return { days: [...days.values()].sort((a, b) => a.day.localeCompare(b.day)), scopesUsed }
    },
  }
}
