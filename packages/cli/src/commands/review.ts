import { type Command, EXIT, jsonOutput, UsageError } from '../command.js'
import { openStore, STORE_OPTION, shownStore, storePath } from '../keys/shared.js'
import { list } from '../option-values.js'
import { parseDuration } from '../parse-duration.js'
import { formatReport } from '../review/format-report.js'
import { renderHtmlReport } from '../review/html.js'
import { withPolicyGrants } from '../review/policy-grants.js'
import { auditFiles, emptyStats, readAuditLog } from '../review/read-audit-log.js'
import { readCertificates } from '../review/read-certificates.js'
import { DEFAULT_THRESHOLDS, type ReviewedCredential, reviewAccess } from '../review/review-access.js'
import { reviewOverview } from '../review/review-overview.js'

const DAY = 86_400_000

export const reviewCommand: Command = {
  name: 'review',
  summary: 'Report stale, dormant, over-broad and expiring access',
  usage: '--audit <file or dir> [--audit …] [options]',
  description: `Reviews credentials against the audit trail and reports what to rotate, disable, trim or renew.
Exits 1 when there are findings (for CI), 0 when clean, 2 when the review could not be made.`,
  options: {
    store: STORE_OPTION,
    audit: {
      type: 'string',
      multiple: true,
      value: '<path>',
      help: 'an audit log (JSON lines) or a folder of *.jsonl files (required)',
    },
    certs: {
      type: 'string',
      value: '<dir>',
      help: 'also review the certificates under this folder (*.crt, *.pem)',
    },
    policy: {
      type: 'string',
      multiple: true,
      value: '<file>',
      help: "a service's policy file: what it grants a key's owner or a certificate's identity\ncounts among that credential's scopes (repeatable, one per service)",
    },
    now: { type: 'string', value: '<ISO time>', help: 'review as of this time (default: now)' },
    'max-key-age': {
      type: 'string',
      value: '<d>',
      help: 'keys older than this should be rotated (default 90d)',
    },
    unused: {
      type: 'string',
      value: '<d>',
      help: 'keys unused, or never used, this long should be disabled (default 60d)',
    },
    'scope-window': {
      type: 'string',
      value: '<d>',
      help: 'scopes not used in this window should be trimmed (default 90d)',
    },
    expiring: {
      type: 'string',
      value: '<d>',
      help: 'credentials expiring within this should be renewed (default 14d;\nfor a certificate, at most the last third of its lifetime)',
    },
    format: {
      type: 'string',
      value: '<f>',
      help: 'text (default), json (as --json) or html: one self-contained page with the\nfindings and charts (key age, scopes granted and used, decisions per day)',
    },
  },
  json: '{ schema, now, thresholds, credentials, findings: [{ type, credentialId, kind, owner, detail, action, … }], audit }',
  exitCodes: '0 no findings, 1 findings, 2 usage error or unreadable input (no review was made)',
  failureExit: EXIT.usage,
  async run({ values, json }, io) {
    const format = values.format === undefined ? (json ? 'json' : 'text') : String(values.format)
    if (!['text', 'json', 'html'].includes(format)) {
      throw new UsageError(`--format must be text, json or html, not "${format}"`)
    }
    const audits = (values.audit as string[] | undefined) ?? []
    if (audits.length === 0) throw new UsageError('--audit is required (a file or a folder)')
    const policies = list(values.policy)
    const now = values.now === undefined ? new Date() : new Date(String(values.now))
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO time, not "${values.now}"`)
    const days = (value: unknown, option: string, fallback: number) =>
      value === undefined ? fallback : parseDuration(String(value), option) / DAY
    const thresholds = {
      maxKeyAgeDays: days(values['max-key-age'], '--max-key-age', DEFAULT_THRESHOLDS.maxKeyAgeDays),
      unusedDays: days(values.unused, '--unused', DEFAULT_THRESHOLDS.unusedDays),
      scopeWindowDays: days(values['scope-window'], '--scope-window', DEFAULT_THRESHOLDS.scopeWindowDays),
      expiringDays: days(values.expiring, '--expiring', DEFAULT_THRESHOLDS.expiringDays),
    }

    // every input is checked before the review starts: a missing one is an error, never "No findings"
    const files = auditFiles(audits)
    const store = shownStore(storePath(values.store, io))
    const keys: ReviewedCredential[] = (await (await openStore(values.store, io)).list()).map((key) => ({
      id: key.id,
      kind: 'api-key',
      owner: key.owner,
      scopes: key.scopes,
      createdAt: new Date(key.createdAt),
      expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
      active: key.state === 'active' && key.rotatedTo === null,
      source: store,
    }))
    const certificates = values.certs === undefined ? [] : readCertificates(String(values.certs))
    const credentials = withPolicyGrants([...keys, ...certificates], policies)

    const stats = emptyStats()
    const overview = reviewOverview(now.getTime() - thresholds.scopeWindowDays * DAY)
    const events = overview.observe(readAuditLog(files, stats))
    const report = await reviewAccess(credentials, events, now, thresholds)
    if (format === 'json') io.stdout.write(jsonOutput('review', { ...report, audit: stats }))
    else if (format === 'html')
      io.stdout.write(renderHtmlReport(report, stats, credentials, overview.result()))
    else io.stdout.write(formatReport(report, stats))
    return report.findings.length > 0 ? EXIT.failure : EXIT.ok
  },
}
