import { parseArgs } from 'node:util'
import { type Command, EXIT, UsageError } from '../command.js'
import { openStore, shownStore, storePath } from '../keys/shared.js'
import { parseDuration } from '../parse-duration.js'
import { formatReport } from '../review/format-report.js'
import { renderHtmlReport } from '../review/html.js'
import { type AuditReadStats, auditFiles, readAuditLog } from '../review/read-audit-log.js'
import { readCertificates } from '../review/read-certificates.js'
import { DEFAULT_THRESHOLDS, type ReviewedCredential, reviewAccess } from '../review/review-access.js'
import { reviewOverview } from '../review/review-overview.js'

const HELP = `Usage: callsign review --audit <file or dir> [--audit …] [options]

Reviews credentials against the audit trail and reports what to rotate, disable, trim or renew.
Exits 1 when there are findings (for CI), 0 when clean, 2 on a usage error.

Options:
  --store <file|url>    the API key store, a file or a postgres:// URL (default: $CALLSIGN_KEY_STORE, else .callsign/keys.json)
  --audit <path>        an audit log (JSON lines) or a folder of *.jsonl files; repeatable
  --certs <dir>         also review the certificates under this folder (*.crt, *.pem)
  --now <ISO time>      review as of this time (default: now)
  --max-key-age <d>     keys older than this should be rotated (default 90d)
  --unused <d>          keys unused, or never used, this long should be disabled (default 60d)
  --scope-window <d>    scopes not used in this window should be trimmed (default 90d)
  --expiring <d>        credentials expiring within this should be renewed (default 14d; for a
                        certificate, at most the last third of its lifetime)
  --json                one JSON object instead of tables
  --format <f>          text (default), json (as --json) or html: one self-contained page with the
                        findings and charts (key age, scopes granted and used, decisions per day)
  -h, --help            this help
`

const DAY = 86_400_000

export const reviewCommand: Command = {
  name: 'review',
  summary: 'Report stale, dormant, over-broad and expiring access',
  async run(argv, io) {
    const { values } = parse(argv)
    if (values.help) {
      io.stdout.write(HELP)
      return EXIT.ok
    }
    const audits = values.audit ?? []
    if (audits.length === 0) throw new UsageError('--audit is required (a file or a folder)')
    const now = values.now === undefined ? new Date() : new Date(values.now)
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO time, not "${values.now}"`)
    const days = (value: string | undefined, option: string, fallback: number) =>
      value === undefined ? fallback : parseDuration(value, option) / DAY
    const thresholds = {
      maxKeyAgeDays: days(values['max-key-age'], '--max-key-age', DEFAULT_THRESHOLDS.maxKeyAgeDays),
      unusedDays: days(values.unused, '--unused', DEFAULT_THRESHOLDS.unusedDays),
      scopeWindowDays: days(values['scope-window'], '--scope-window', DEFAULT_THRESHOLDS.scopeWindowDays),
      expiringDays: days(values.expiring, '--expiring', DEFAULT_THRESHOLDS.expiringDays),
    }

    const store = shownStore(storePath(values.store, io))
    const credentials: ReviewedCredential[] = (await (await openStore(values.store, io)).list()).map(
      (key) => ({
        id: key.id,
        kind: 'api-key',
        owner: key.owner,
        scopes: key.scopes,
        createdAt: new Date(key.createdAt),
        expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
        active: key.state === 'active' && key.rotatedTo === null,
        source: store,
      }),
    )
    if (values.certs !== undefined) credentials.push(...readCertificates(values.certs))

    const format = values.format ?? (values.json ? 'json' : 'text')
    if (!['text', 'json', 'html'].includes(format)) {
      throw new UsageError(`--format must be text, json or html, not "${format}"`)
    }
    const stats: AuditReadStats = { files: 0, events: 0, corrupt: 0, dropped: 0 }
    const overview = reviewOverview(now.getTime() - thresholds.scopeWindowDays * DAY)
    const events = overview.observe(readAuditLog(auditFiles(audits), stats))
    const report = await reviewAccess(credentials, events, now, thresholds)
    if (format === 'json') io.stdout.write(`${JSON.stringify({ ...report, audit: stats }, null, 2)}\n`)
    else if (format === 'html')
      io.stdout.write(renderHtmlReport(report, stats, credentials, overview.result()))
    else io.stdout.write(formatReport(report, stats))
    return report.findings.length > 0 ? EXIT.failure : EXIT.ok
  },
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        store: { type: 'string' },
        audit: { type: 'string', multiple: true },
        certs: { type: 'string' },
        now: { type: 'string' },
        'max-key-age': { type: 'string' },
        unused: { type: 'string' },
        'scope-window': { type: 'string' },
        expiring: { type: 'string' },
        json: { type: 'boolean' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}
