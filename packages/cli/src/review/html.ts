import type { AuditReadStats } from './read-audit-log.js'
import type { ReviewedCredential, ReviewReport } from './review-access.js'
import type { ReviewOverview } from './review-overview.js'

const DAY = 86_400_000
const COLORS = { allow: '#2e7d32', deny: '#c62828', 'would-deny': '#ef6c00', ok: '#1565c0', over: '#c62828' }

/** Escapes text for HTML and SVG. */
const esc = (text: string | number) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  )

/**
 * The review as one self-contained HTML page: the findings table and three inline SVG charts (key
 * and certificate age against the rotation limit, scopes granted against scopes used per caller,
 * decisions per day by outcome). No script, no font, no image, nothing fetched when it is viewed:
 * its Content-Security-Policy forbids it.
 *
 * @example
 * writeFileSync('review.html', renderHtmlReport(report, stats, credentials, overview.result()))
 */
export function renderHtmlReport(
  report: ReviewReport,
  stats: AuditReadStats,
  credentials: readonly ReviewedCredential[],
  overview: ReviewOverview,
): string {
  const now = Date.parse(report.now)
  const rows = report.findings
    .map(
      (f) =>
        `<tr class="${esc(f.type)}"><td>${esc(f.credentialId)}</td><td>${esc(f.kind)}</td><td>${esc(f.owner)}</td><td>${esc(f.type)}</td><td>${esc(f.detail)}</td><td>${esc(f.action)}</td></tr>`,
    )
    .join('\n')
  const summary = `${report.credentials} credentials, ${stats.events} audit events in ${stats.files} file(s)${
    stats.corrupt ? `, ${stats.corrupt} corrupt line(s) skipped` : ''
  }${stats.dropped ? `, ${stats.dropped} event(s) reported dropped` : ''}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Callsign access review ${esc(report.now)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
section { margin: 2em 0; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.legend span { display: inline-block; margin-right: 1em; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
</style>
</head>
<body>
<h1>Access review</h1>
<p>At ${esc(report.now)}: ${esc(summary)}. ${report.findings.length === 0 ? 'No findings.' : `${report.findings.length} finding(s).`}</p>
<section>
<h2>Findings</h2>
<table id="findings">
<thead><tr><th>credential</th><th>kind</th><th>owner</th><th>finding</th><th>what was seen</th><th>action</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">No findings.</td></tr>'}
</tbody>
</table>
</section>
<section>
<h2>Key and certificate age against the rotation limit</h2>
${ageChart(credentials, now, report.thresholds.maxKeyAgeDays)}
</section>
<section>
<h2>Scopes granted and used, per caller (last ${esc(report.thresholds.scopeWindowDays)} days)</h2>
${scopeChart(credentials, overview.scopesUsed)}
</section>
<section>
<h2>Decisions per day, by outcome</h2>
${decisionChart(overview)}
</section>
</body>
</html>
`
}

/** One horizontal bar per active credential: its age, and a mark at its limit. */
function ageChart(credentials: readonly ReviewedCredential[], now: number, maxKeyAgeDays: number): string {
  const bars = credentials
    .filter((c) => c.active && c.createdAt !== undefined)
    .map((c) => {
      const age = Math.max(0, (now - (c.createdAt as Date).getTime()) / DAY)
      const limit =
        c.kind === 'mtls' && c.expiresAt
          ? (c.expiresAt.getTime() - (c.createdAt as Date).getTime()) / DAY
          : maxKeyAgeDays
      const owner = c.owner.length > 24 ? `${c.owner.slice(0, 23)}…` : c.owner
      return { label: `${c.kind} ${c.id} (${owner})`, age, limit }
    })
  if (bars.length === 0) return '<p>No credential with a creation time.</p>'
  const scale = Math.max(...bars.map((b) => Math.max(b.age, b.limit)), 1)
  const left = 260
  const width = 440
  const height = bars.length * 22 + 30
  const x = (days: number) => left + (days / scale) * width
  const body = bars
    .map((b, i) => {
      const y = 10 + i * 22
      const color = b.age > b.limit ? COLORS.over : COLORS.ok
      return `<text x="${left - 6}" y="${y + 13}" text-anchor="end">${esc(b.label)}</text>
<rect class="bar" x="${left}" y="${y}" width="${(x(b.age) - left).toFixed(1)}" height="16" fill="${color}"><title>${esc(`${Math.floor(b.age)} days old, limit ${Math.floor(b.limit)}`)}</title></rect>
<line x1="${x(b.limit).toFixed(1)}" x2="${x(b.limit).toFixed(1)}" y1="${y - 2}" y2="${y + 18}" stroke="#000" stroke-dasharray="3 2"/>
<text x="${(x(b.age) + 4).toFixed(1)}" y="${y + 13}">${Math.floor(b.age)} d</text>`
    })
    .join('\n')
  return `<svg data-chart="age" role="img" aria-label="Age of each credential against its limit" width="${left + width + 60}" height="${height}" xmlns="http://www.w3.org/2000/svg">
${body}
<text x="${left}" y="${height - 4}">age in days; dashed line: the rotation limit (certificates: their lifetime); red: past it</text>
</svg>`
}

/** Per caller: the scopes its credentials grant, and how many of them it used. */
function scopeChart(
  credentials: readonly ReviewedCredential[],
  scopesUsed: ReadonlyMap<string, ReadonlySet<string>>,
): string {
  const granted = new Map<string, Set<string>>()
  for (const c of credentials) {
    if (!c.active) continue
    const set = granted.get(c.owner) ?? new Set<string>()
    granted.set(c.owner, set)
    for (const scope of c.scopes) set.add(scope)
  }
  const callers = [...granted.entries()]
    .filter(([, scopes]) => scopes.size > 0)
    .sort(([a], [b]) => a.localeCompare(b))
  if (callers.length === 0) return '<p>No caller with granted scopes.</p>'
  const scale = Math.max(...callers.map(([, scopes]) => scopes.size))
  const left = 200
  const width = 400
  const height = callers.length * 34 + 30
  const body = callers
    .map(([owner, scopes], i) => {
      const used = [...scopes].filter((scope) => scopesUsed.get(owner)?.has(scope)).length
      const y = 10 + i * 34
      const w = (n: number) => ((n / scale) * width).toFixed(1)
      return `<text x="${left - 6}" y="${y + 17}" text-anchor="end">${esc(owner)}</text>
<rect class="bar" x="${left}" y="${y}" width="${w(scopes.size)}" height="12" fill="#90a4ae"><title>${esc(`granted: ${[...scopes].join(' ')}`)}</title></rect>
<rect class="bar" x="${left}" y="${y + 14}" width="${w(used)}" height="12" fill="${COLORS.allow}"><title>${esc(`used: ${used} of ${scopes.size}`)}</title></rect>
<text x="${left + Number(w(scopes.size)) + 4}" y="${y + 11}">${scopes.size} granted</text>
<text x="${left + Number(w(used)) + 4}" y="${y + 25}">${used} used</text>`
    })
    .join('\n')
  return `<svg data-chart="scopes" role="img" aria-label="Scopes granted and used per caller" width="${left + width + 100}" height="${height}" xmlns="http://www.w3.org/2000/svg">
${body}
</svg>`
}

/** Stacked columns per day: allowed, refused, would-deny (dry run). */
function decisionChart(overview: ReviewOverview): string {
  const { days } = overview
  if (days.length === 0) return '<p>No decision in the audit log.</p>'
  const outcomes = ['allow', 'deny', 'would-deny'] as const
  const scale = Math.max(...days.map((d) => d.allow + d.deny + d['would-deny']), 1)
  const plot = 200
  const column = Math.max(4, Math.min(40, Math.floor(700 / days.length) - 2))
  const width = days.length * (column + 2) + 60
  const body = days
    .map((d, i) => {
      let top = plot + 10
      const x = 40 + i * (column + 2)
      const parts = outcomes
        .filter((outcome) => d[outcome] > 0)
        .map((outcome) => {
          const h = (d[outcome] / scale) * plot
          top -= h
          return `<rect class="bar" x="${x}" y="${top.toFixed(1)}" width="${column}" height="${h.toFixed(1)}" fill="${COLORS[outcome]}"><title>${esc(`${d.day}: ${d[outcome]} ${outcome}`)}</title></rect>`
        })
      return parts.join('\n')
    })
    .join('\n')
  const first = days[0]!.day
  const last = days.at(-1)!.day
  return `<p class="legend">${outcomes.map((o) => `<span><i style="background:${COLORS[o]}"></i>${o}</span>`).join('')}</p>
<svg data-chart="decisions" role="img" aria-label="Decisions per day by outcome" width="${width}" height="${plot + 40}" xmlns="http://www.w3.org/2000/svg">
<line x1="38" x2="${width}" y1="${plot + 10}" y2="${plot + 10}" stroke="#999"/>
<text x="2" y="20">${scale}</text>
${body}
<text x="40" y="${plot + 28}">${esc(first)}</text>
<text x="${width - 70}" y="${plot + 28}">${esc(last)}</text>
</svg>`
}
