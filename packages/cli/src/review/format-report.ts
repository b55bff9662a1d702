import { plural } from '../plural.js'
import type { AuditReadStats } from './read-audit-log.js'
import type { ReviewReport } from './review-access.js'

const TITLES = {
  'old-key': 'Keys to rotate (older than the maximum age)',
  unused: 'Credentials to disable (unused or never used)',
  'unused-scopes': 'Grants to trim (scopes not used)',
  expiring: 'Credentials expiring soon',
  expired: 'Certificates expired (still deployed)',
  'no-expiry': 'Keys with no expiry',
} as const

/** The review as readable tables, one per kind of finding. */
export function formatReport(report: ReviewReport, stats: AuditReadStats): string {
  const lines = [
    `Access review at ${report.now}: ${plural(report.credentials, 'credential')}, ${plural(stats.events, 'audit event')} in ${plural(stats.files, 'file')}` +
      (stats.first ? ` (${stats.first} to ${stats.last})` : '') +
      (stats.corrupt ? `, ${plural(stats.corrupt, 'corrupt line')} skipped` : '') +
      (stats.dropped ? `, ${plural(stats.dropped, 'event')} reported dropped by the writers` : ''),
    '',
  ]
  for (const type of Object.keys(TITLES) as (keyof typeof TITLES)[]) {
    const rows = report.findings.filter((finding) => finding.type === type)
    if (rows.length === 0) continue
    lines.push(`${TITLES[type]}: ${rows.length}`)
    const table = rows.map((row) => [row.credentialId, row.kind, row.owner, row.detail, row.action])
    const header = ['credential', 'kind', 'owner', 'finding', 'action']
    const widths = header.map((title, column) =>
      Math.max(title.length, ...table.map((row) => row[column]!.length)),
    )
    const format = (row: string[]) =>
      `  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd()
    lines.push(format(header), ...table.map(format), '')
  }
  lines.push(report.findings.length === 0 ? 'No findings.' : `${plural(report.findings.length, 'finding')}.`)
  return `${lines.join('\n')}\n`
}
