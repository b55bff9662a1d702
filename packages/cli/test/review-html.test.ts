import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type ApiKeyRecord, fileKeyStore } from '@callsign/api-key'
import type { AuditEvent } from '@callsign/core'
import { chromium } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_TEST_TIMEOUT_MS, runCli } from '../../../test/support/run-cli.js'
import { keyRecord } from './support/key-record.js'

// `callsign review --format html` on a fixture, run as a child process, then opened in a real
// headless Chromium (Debian's package; .ci/run installs it when missing). The page must load with
// no console error and no request leaving it, and draw its three charts. Its screenshot, with
// CALLSIGN_UPDATE_SCREENSHOT=1, is packages/cli/docs/review-html.png, which the CLI README shows.
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path))
const SCREENSHOT = fileURLToPath(new URL('../docs/review-html.png', import.meta.url))

const NOW = '2026-06-30T00:00:00.000Z'
const DAY = 86_400_000
const daysAgo = (days: number) => new Date(Date.parse(NOW) - days * DAY).toISOString()

function record(
  owner: string,
  scopes: string[],
  createdDaysAgo: number,
  expiresIn: number | null,
): ApiKeyRecord {
  return keyRecord(owner, scopes, {
    createdAt: daysAgo(createdDaysAgo),
    expiresAt: expiresIn === null ? null : new Date(Date.parse(NOW) + expiresIn * DAY).toISOString(),
  })
}

const keys = {
  gateway: record('gateway', ['orders:read'], 20, 70),
  reporting: record('reporting', ['reports:read', 'reports:write'], 120, 200),
  // old enough (100 days) for its unused orders:write and orders:admin to be a finding in the 90-day window
  billing: record('billing', ['orders:read', 'orders:write', 'orders:admin'], 100, 50),
  // an owner with markup in its name: the page must show it as text
  odd: record('<script>alert(1)</script>', ['orders:read'], 10, null),
}

function event(
  key: ApiKeyRecord,
  decision: AuditEvent['decision'],
  scopes: string[],
  day: number,
): AuditEvent {
  return {
    v: 1,
    time: daysAgo(day),
    decision,
    reason: decision === 'allow' ? 'granted' : 'scope_missing',
    ...(decision === 'allow' ? { caller: key.owner, kind: 'api-key', credentialId: key.id } : {}),
    scopes,
    transport: 'http',
    method: 'GET',
    route: '/orders/:id',
    latencyMs: 0.2,
  }
}

let store: string
let page: string
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callsign-review-html-'))
  store = join(dir, 'keys.json')
  const keyStore = fileKeyStore(store, { watch: false })
  for (const key of Object.values(keys)) await keyStore.create(key)
  const events: AuditEvent[] = []
  for (let day = 14; day >= 1; day--) {
    for (let i = 0; i < 3 + (day % 4); i++) events.push(event(keys.gateway, 'allow', ['orders:read'], day))
    events.push(event(keys.billing, 'allow', ['orders:read'], day))
    if (day % 3 === 0) events.push(event(keys.billing, 'deny', ['orders:admin'], day))
    if (day % 5 === 0) events.push(event(keys.reporting, 'would-deny', ['reports:write'], day))
  }
  events.push(event(keys.reporting, 'allow', ['reports:read'], 2))
  mkdirSync(join(dir, 'audit'))
  writeFileSync(join(dir, 'audit', 'orders.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`)
  const result = await runCli([
    'review',
    '--store',
    store,
    '--audit',
    join(dir, 'audit'),
    '--now',
    NOW,
    '--format',
    'html',
  ])
  expect(result.code).toBe(1) // there are findings
  page = join(dir, 'review.html')
  writeFileSync(page, result.stdout)
}, CLI_TEST_TIMEOUT_MS)

describe('callsign review --format html', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('is one self-contained page: no script, no external resource, markup in data escaped', async () => {
    const { readFileSync } = await import('node:fs')
    const html = readFileSync(page, 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).not.toMatch(/<script|src=|href=|@import|url\(/i)
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).toContain(`Content-Security-Policy" content="default-src 'none'`)
  })

  it('rejects an unknown --format with exit 2', async () => {
    const result = await runCli(['review', '--store', store, '--audit', page, '--format', 'pdf'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--format must be text, json or html')
  })

  it.skipIf(CHROMIUM === undefined)(
    'renders in headless Chromium with no console error and no request, and draws its charts',
    async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
      try {
        const tab = await browser.newPage({ viewport: { width: 1100, height: 900 } })
        const problems: string[] = []
        const requests: string[] = []
        tab.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
        })
        tab.on('pageerror', (error) => problems.push(error.message))
        tab.on('request', (request) => requests.push(request.url()))
        await tab.goto(pathToFileURL(page).href)
        expect(problems).toEqual([])
        expect(requests).toEqual([pathToFileURL(page).href])
        expect(await tab.locator('#findings tbody tr').count()).toBeGreaterThanOrEqual(4)
        for (const chart of ['age', 'scopes', 'decisions']) {
          const bars = tab.locator(`svg[data-chart="${chart}"] rect.bar`)
          expect(await bars.count(), `${chart} chart bars`).toBeGreaterThan(0)
          const box = await bars.first().boundingBox()
          expect(box?.width ?? 0, `${chart} chart drawn`).toBeGreaterThan(0)
        }
        // 14 days of decisions, each a column of allowed calls at least
        expect(await tab.locator(`svg[data-chart="decisions"] rect[fill="#2e7d32"]`).count()).toBe(14)
        expect(await tab.locator('body').textContent()).toContain('<script>alert(1)</script>')
        // The README's picture is only rewritten when asked: CALLSIGN_UPDATE_SCREENSHOT=1.
        const shot = process.env.CALLSIGN_UPDATE_SCREENSHOT ? SCREENSHOT : join(page, '..', 'review-html.png')
        await tab.screenshot({ path: shot, fullPage: true })
        expect(existsSync(shot)).toBe(true)
      } finally {
        await browser.close()
      }
    },
  )

  it.runIf(CHROMIUM === undefined)('NOTICE: Chromium is not installed, the browser check was skipped', () => {
    console.warn(
      'review-html: no chromium at /usr/bin/chromium; apt-get install -y chromium to run the browser check',
    )
  })
})
