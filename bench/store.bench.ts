import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, renameSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type ApiKeyRecord, apiKeyVerifier, fileKeyStore, generateApiKey } from '@callsign/api-key'
import { type AuditEvent, type AuthRequest, jsonLinesAuditSink } from '@callsign/core'
import { activeRecord, writeBulkStore } from '../packages/api-key/test/support/bulk-store.js'

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const writerEntry = fileURLToPath(new URL('./support/store-writer.ts', import.meta.url))

/** Reloads of each store size: the first `WARM_UP` are not measured. */
const WARM_UP = 2
const MEASURED = 3
/** Keys revoked at once in the last row: more than a reload sets into the live map (1 000). */
const BULK = 2000

const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 40)

const request = (key: string): AuthRequest => ({
  transport: 'http',
  method: 'GET',
  route: '/orders/:id',
  header: (name) => (name === 'authorization' ? [`Bearer ${key}`] : []),
})

const audit = (decision: 'allow' | 'deny', n: number): AuditEvent =>
  ({
    v: 1,
    time: new Date().toISOString(),
    decision,
    reason: decision === 'allow' ? 'granted' : 'revoked',
    caller: 'billing',
    scopes: ['orders:read'],
    transport: 'http',
    method: 'GET',
    route: '/orders/:id',
    latencyMs: n % 10,
  }) as AuditEvent

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/**
 * Revocation to first refusal: a service (a watching file store and its verifier) verifies one key
 * as fast as it can and writes an audit line for each decision into the store's own folder, while
 * another store object (another writer) revokes the key. Measured from the moment the revoke
 * returned to the first refusal the service gives.
 */
async function revocationLatency(dir: string): Promise<{ latencies: number[]; notified: number[] }> {
  const path = join(dir, 'keys.json')
  await writeBulkStore(path, 1000)
  const service = fileKeyStore(path)
  const verifier = apiKeyVerifier({ store: service })
  const sink = jsonLinesAuditSink(join(dir, 'audit.jsonl'))
  const writer = fileKeyStore(path, { watch: false })
  const latencies: number[] = []
  const notified: number[] = []
  let notifiedAt: number | undefined
  service.onChange(() => {
    notifiedAt = performance.now()
  })
  let verified = 0
  for (let round = 0; round < REVOCATIONS; round++) {
    const generated = generateApiKey()
    await writer.create(activeRecord(generated.id, generated.secretHash))
    const req = request(generated.key)
    let revokedAt: number | undefined
    let refusedAt: number | undefined
    const load = (async () => {
      while (refusedAt === undefined) {
        try {
          await verifier.verify(req)
          sink.write(audit('allow', verified))
        } catch {
          if (revokedAt !== undefined) refusedAt = performance.now()
          sink.write(audit('deny', verified))
        }
        verified++
        if (verified % 20 === 0) await nextTurn()
      }
    })()
    await sleep(20 + (round % 7) * 3)
    notifiedAt = undefined
    await writer.revoke(generated.id)
    revokedAt = performance.now()
    await load
    latencies.push((refusedAt as number) - revokedAt)
    notified.push((notifiedAt ?? Number.NaN) - revokedAt)
  }
  service.close()
  await sink.close()
  return { latencies: latencies.sort((a, b) => a - b), notified: notified.sort((a, b) => a - b) }
}

/**
 * The files of `rounds` successive changes to the store at `path`, each revoking `perChange` keys,
 * made by another process (`support/store-writer.ts`) and left beside the store as `<path>.<k>`.
 */
async function prepareChanges(path: string, rounds: number, perChange: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', tsx, '--conditions=@callsign/source', writerEntry, path, String(rounds), String(perChange)],
    { stdio: 'inherit' },
  )
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`bench setup: the store writer exited with ${code}`)
}

/**
 * One reload of a store of `size` keys after one revoke by another process (or `perChange` revokes
 * at once, written as one file by a tool, which a reload reads into a new map): from the revoke (its
 * file put in place by a rename, the last step of a store write) to the service's change
 * notification, and the longest the service's event loop went without a turn meanwhile. The
 * revokes are written beforehand by another process, as the CLI would: a writer at work during the
 * measurement took one of the machine's two cores from the service, and in the service's process
 * its copy of the store and its 48 MB of text started garbage collections of its own. Two reloads
 * are not measured: the first one after startup also compiles the reload's code, and meets the first
 * scavenge after startup, which moves the records the startup read last out of the young generation
 * (15 to 30 ms at 100 000 keys, seen with --trace-gc: paid once by whatever allocates first, a
 * reload or requests). Baseline in the same run: one blocking `JSON.parse` of the same file.
 */
async function reloadCost(dir: string, size: number, perChange = 1) {
  const path = join(dir, `keys-${size}-${perChange}.json`)
  await writeBulkStore(path, size)
  await prepareChanges(path, WARM_UP + MEASURED, perChange)
  const service = fileKeyStore(path)
  const results: { reloadMs: number; blockMs: number; cpuMs: number }[] = []
  for (let round = 0; round < WARM_UP + MEASURED; round++) {
    let changedAt: number | undefined
    const off = service.onChange(() => {
      changedAt = performance.now()
    })
    // The writer's last step; it frees the old file's blocks, which takes the rename itself some ms.
    renameSync(`${path}.${round}`, path)
    const start = performance.now()
    let last = start
    let block = 0
    // The process's CPU time per turn too: on a loaded machine a turn's wall time includes the time
    // the process waited for a core, its CPU time does not (it includes the GC's helper threads).
    let cpu = process.cpuUsage()
    let cpuBlock = 0
    while (changedAt === undefined) {
      await nextTurn()
      const now = performance.now()
      block = Math.max(block, now - last)
      last = now
      const used = process.cpuUsage(cpu)
      cpuBlock = Math.max(cpuBlock, (used.user + used.system) / 1000)
      cpu = process.cpuUsage()
    }
    off()
    if (round >= WARM_UP) results.push({ reloadMs: changedAt - start, blockMs: block, cpuMs: cpuBlock })
  }
  const text = readFileSync(path, 'utf8')
  const parseStart = performance.now()
  const parsed = JSON.parse(text) as { keys: ApiKeyRecord[] }
  const parseMs = performance.now() - parseStart
  if (parsed.keys.length !== size) throw new Error('bench setup: wrong store size')
  service.close()
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  return {
    keys:
      perChange === 1
        ? size.toLocaleString('en')
        : `${size.toLocaleString('en')}, ${perChange.toLocaleString('en')} revoked at once`,
    reloadMs: median(results.map((r) => r.reloadMs)),
    blockMs: median(results.map((r) => r.blockMs)),
    cpuMs: median(results.map((r) => r.cpuMs)),
    parseMs,
  }
}

export async function run(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'callsign-bench-store-'))
  try {
    const { latencies, notified } = await revocationLatency(dir)
    const reloads = []
    for (const size of [1000, 10_000, 100_000]) reloads.push(await reloadCost(dir, size))
    reloads.push(await reloadCost(dir, 100_000, BULK))
    return [
      '## Key store: revocation to first refusal, and the cost of a reload',
      '',
      `A service verifies one key in a loop and writes an audit line per decision into the store's own folder;`,
      `another writer revokes the key. ${REVOCATIONS} revocations, 1 000 keys in the store, times from the revoke's`,
      'return (a negative time: the service had the change before the writer, in the same process, returned):',
      '',
      '| from the revoke to | p50 ms | p99 ms | max ms | target p99 |',
      '|---|---:|---:|---:|---:|',
      `| the first refusal | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${latencies.at(-1)!.toFixed(1)} | < 100 |`,
      `| the service's change notification (watcher and reload) | ${percentile(notified, 50).toFixed(1)} | ${percentile(notified, 99).toFixed(1)} | ${notified.at(-1)!.toFixed(1)} | |`,
      '',
      `A reload after one revoke by another process (median of ${MEASURED}, after ${WARM_UP} reloads not measured): the revoke's`,
      'file is written beforehand and put in place by a rename (the last step of every store write), so that no',
      "writer is at work during the measurement. From the rename's return to the change notification, and the longest",
      'event-loop turn meanwhile (wall time, and the most CPU time the process used in one turn), beside one',
      "blocking `JSON.parse` of the same file (the old reload's floor: it also validated every record synchronously).",
      `The last row: ${BULK.toLocaleString('en')} keys revoked in one file, as a tool writing the file itself would (the store's own`,
      'writes change one record, two for a rotation): more than a reload sets into the map it serves (1 000), so the',
      "file is read into a new map, in slices, and the map's growth past 65 536 entries is one step.",
      '',
      '| keys | reload ms | longest turn ms | most CPU ms in a turn | JSON.parse ms (baseline) | longest turn × baseline |',
      '|---:|---:|---:|---:|---:|---:|',
      ...reloads.map(
        (r) =>
          `| ${r.keys} | ${r.reloadMs.toFixed(1)} | ${r.blockMs.toFixed(1)} | ${r.cpuMs.toFixed(1)} | ${r.parseMs.toFixed(1)} | ${(r.blockMs / r.parseMs).toFixed(2)} |`,
      ),
    ].join('\n')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
