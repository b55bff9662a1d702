import type { AuthErrorCode } from '@callsign/core'
import { GRPC_STATUS, HTTP_STATUS } from '@callsign/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SecurityCredentials, securityCredentials } from './credentials.js'
import { type AdapterName, type RawRequest, TARGETS, type Target } from './targets.js'

/** What a row must get back. */
export type Expect =
  /** Refused by Callsign with this code (status from core's wire maps). */
  | { readonly code: AuthErrorCode }
  /** Refused before Callsign could decide (the framework's 404, 431, a failed handshake …). */
  | { readonly status: number; readonly why: string }
  /** A control row: allowed, and the handler sees this caller. */
  | { readonly allow: string | null }

export interface AttackRow {
  readonly name: string
  /** The adapters the row applies to; all three when absent. */
  readonly only?: readonly AdapterName[]
  readonly request: (creds: SecurityCredentials, adapter: AdapterName) => RawRequest
  readonly expect: Expect | Partial<Record<AdapterName, Expect>>
}

const expectationFor = (row: AttackRow, adapter: AdapterName): Expect => {
  const e = row.expect as Record<string, Expect>
  if ('code' in e || 'status' in e || 'allow' in e) return row.expect as Expect
  const found = e[adapter]
  if (!found) throw new Error(`row "${row.name}" has no expectation for ${adapter}`)
  return found
}

function describeExpect(expectation: Expect, adapter: AdapterName): string {
  const grpc = adapter === 'grpc'
  if ('code' in expectation) {
    return `${grpc ? GRPC_STATUS[expectation.code] : HTTP_STATUS[expectation.code]} ${expectation.code}`
  }
  if ('status' in expectation) return `${expectation.status} (${expectation.why})`
  return `${grpc ? 0 : 200} for caller ${expectation.allow}`
}

/** The write route (needs orders:write) on each transport. */
export const writeRoute = (adapter: AdapterName): RawRequest =>
  adapter === 'grpc' ? { path: '/contract.v1.Orders/Create' } : { method: 'POST', path: '/orders' }

/** The request a valid caller sends after every row: the server must still answer it. */
const control = (creds: SecurityCredentials): RawRequest => ({
  headers: [['authorization', `Bearer ${creds.keys.reader}`]],
})

/** The credential values a row presented (header values long enough to be secrets). */
function presented(request: RawRequest): string[] {
  return (request.headers ?? [])
    .map(([, value]) => value.replace(/^\S+ /, ''))
    .filter((value) => value.length >= 16)
}

/**
 * Runs an attack table against every adapter it applies to, over real servers on 127.0.0.1 with
 * the real verifiers. Every refused row also asserts the four invariants: the handler never ran, no
 * 2xx (nor 5xx) came back, no secret is in the response or the audit events, and the next valid
 * request is still answered.
 */
export function runAttackTable(title: string, rows: readonly AttackRow[]): void {
  for (const adapter of Object.keys(TARGETS) as AdapterName[]) {
    const applicable = rows.filter((row) => !row.only || row.only.includes(adapter))
    if (applicable.length === 0) continue
    describe(`${title} through ${adapter}`, () => {
      let creds: SecurityCredentials
      let target: Target
      beforeAll(async () => {
        creds = await securityCredentials()
        target = await TARGETS[adapter](creds)
      })
      afterAll(async () => {
        await target?.close()
        creds?.store.close?.()
      })

      for (const row of applicable) {
        const expectation = expectationFor(row, adapter)
        const refused = !('allow' in expectation)
        const suffix = refused ? ', the handler never runs and no secret leaks' : ''
        it(`${row.name}: answers ${describeExpect(expectation, adapter)}${suffix}`, async () => {
          const request = row.request(creds, adapter)
          const runsBefore = target.handlerRuns()
          const auditBefore = target.audit.length
          const outcome = await target.send(request)
          const grpc = target.transport === 'grpc'

          if ('allow' in expectation) {
            expect(outcome.status).toBe(grpc ? 0 : 200)
            expect(outcome.caller ?? null).toBe(expectation.allow)
            expect(target.handlerRuns()).toBe(runsBefore + 1)
            return
          }
          if ('code' in expectation) {
            const status = grpc ? GRPC_STATUS[expectation.code] : HTTP_STATUS[expectation.code]
            expect({ status: outcome.status, code: outcome.code }).toEqual({ status, code: expectation.code })
          } else {
            expect(outcome.status).toBe(expectation.status)
          }
          // 1. the handler never ran
          expect(target.handlerRuns()).toBe(runsBefore)
          // 2. no 2xx, and never a 5xx (gRPC: not OK, not INTERNAL/UNKNOWN)
          if (grpc) expect([0, 2, 13]).not.toContain(outcome.status)
          else expect(outcome.status === 0 || (outcome.status >= 400 && outcome.status < 500)).toBe(true)
          // 3. no secret in the response or in the audit events of this request
          const audit = JSON.stringify(target.audit.slice(auditBefore))
          for (const secret of [...creds.secrets(), ...presented(request)]) {
            expect(outcome.wire).not.toContain(secret)
            expect(audit).not.toContain(secret)
          }
          if ('code' in expectation) {
            // a Callsign refusal is audited exactly once, as a deny with the same code
            const events = target.audit.slice(auditBefore)
            expect(events.map((event) => [event.decision, event.code])).toEqual([['deny', expectation.code]])
          }
          // 4. the server still answers the next valid request
          const next = await target.send(control(creds))
          expect({ status: next.status, caller: next.caller }).toEqual({
            status: grpc ? 0 : 200,
            caller: 'key-reader',
          })
        })
      }
    })
  }
}
