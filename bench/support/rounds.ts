import autocannon, { type AutocannonOptions } from 'autocannon'
import type { RemoteTarget } from './targets.js'

/** What one load run achieved. */
export interface LoadResult {
  /** Operations that succeeded (2xx, or an OK gRPC status). */
  readonly ok: number
  readonly failed: number
  readonly seconds: number
}

/** One row of a throughput table: a server and the load that drives it. */
export interface Variant {
  readonly name: string
  readonly target: RemoteTarget
  /** The row this one is compared with, measured in the same round. Default: the first row. */
  readonly baseline?: string
  load(seconds: number): Promise<LoadResult>
}

export interface Sample {
  readonly perSecond: number
  /** Server CPU time per successful operation, µs. */
  readonly cpuPerOp: number
}

export interface RoundOptions {
  readonly rounds: number
  readonly seconds: number
  readonly warmupSeconds: number
}

/** Runs autocannon from this process against a target in another, and checks every response. */
export async function cannon(options: AutocannonOptions): Promise<LoadResult> {
  const result = await autocannon({ connections: 16, pipelining: 1, ...options })
  return { ok: result['2xx'], failed: result.non2xx + result.errors, seconds: result.duration }
}

/** Every run of each row, and the pairs its ratios come from. */
export interface RoundSamples {
  readonly own: Map<string, Sample[]>
  /** For each row compared with a baseline: per round, its run and the baseline's run just before. */
  readonly pairs: Map<string, { readonly row: Sample; readonly baseline: Sample }[]>
}

const baselineOf = (variants: readonly Variant[], variant: Variant) => variant.baseline ?? variants[0]!.name

/**
 * Interleaved rounds after a warm-up, each row paired with its baseline: in every round, each row
 * runs right after a run of its baseline, each run after one unmeasured second of the same load,
 * with the server's CPU time counted inside its own process. A ratio then compares two runs a few
 * seconds apart, so load that other tenants put on this shared machine, which drifts over a round,
 * hits both sides of the ratio alike.
 */
export async function interleave(
  variants: readonly Variant[],
  options: RoundOptions,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<RoundSamples> {
  for (const variant of variants) {
    const warm = await variant.load(options.warmupSeconds)
    if (warm.failed > 0 || warm.ok === 0) {
      throw new Error(
        `bench: ${variant.name} failed ${warm.failed} of ${warm.ok + warm.failed} during warm-up`,
      )
    }
  }
  const byName = new Map(variants.map((variant) => [variant.name, variant]))
  const own = new Map(variants.map((variant) => [variant.name, [] as Sample[]]))
  const pairs: RoundSamples['pairs'] = new Map()
  const measure = async (variant: Variant, round: number): Promise<Sample> => {
    // A server that sat idle while the others ran has cold caches (its young generation is held at
    // its loaded size by spawnTarget): one unmeasured second first, so that no row is measured
    // colder than the baseline before it.
    await variant.load(1)
    await variant.target.begin()
    const result = await variant.load(options.seconds)
    const cpu = await variant.target.end()
    if (result.failed > 0) throw new Error(`bench: ${variant.name} failed ${result.failed} operations`)
    const sample = { perSecond: result.ok / result.seconds, cpuPerOp: cpu / result.ok }
    own.get(variant.name)!.push(sample)
    log(
      `  round ${round + 1}/${options.rounds} ${variant.name}: ${sample.perSecond.toFixed(0)}/s, ${sample.cpuPerOp.toFixed(1)} µs CPU/op`,
    )
    return sample
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const variant of variants) {
      const baseline = byName.get(baselineOf(variants, variant))!
      if (baseline === variant) continue
      const before = await measure(baseline, round)
      const row = await measure(variant, round)
      if (!pairs.has(variant.name)) pairs.set(variant.name, [])
      pairs.get(variant.name)!.push({ row, baseline: before })
    }
  }
  return { own, pairs }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const range = (values: readonly number[], digits = 0) =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`

export interface RowSummary {
  readonly name: string
  readonly perSecond: number
  /** Median over rounds of this row's throughput divided by its baseline's run just before it. */
  readonly ratio: number
  readonly cpuPerOp: number
  /** Median over rounds of the CPU per operation above the baseline's, µs. */
  readonly extraCpu: number
}

/** Per-row medians, and ratios to the baseline run just before each run. */
export function summarize(variants: readonly Variant[], samples: RoundSamples): RowSummary[] {
  return variants.map((variant) => {
    const own = samples.own.get(variant.name)!
    const pairs = samples.pairs.get(variant.name) ?? [] // none for the first row: its ratio is 1
    return {
      name: variant.name,
      perSecond: median(own.map((s) => s.perSecond)),
      ratio: pairs.length ? median(pairs.map((p) => p.row.perSecond / p.baseline.perSecond)) : 1,
      cpuPerOp: median(own.map((s) => s.cpuPerOp)),
      extraCpu: pairs.length ? median(pairs.map((p) => p.row.cpuPerOp - p.baseline.cpuPerOp)) : 0,
    }
  })
}

/** A Markdown throughput table: medians, min–max over rounds, ratio and CPU against the baseline. */
export function throughputTable(variants: readonly Variant[], samples: RoundSamples, unit = 'req/s'): string {
  const summary = summarize(variants, samples)
  const lines = [
    `| case | median ${unit} | min–max ${unit} | × baseline | server CPU µs/op | min–max | Δ CPU µs/op |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [index, row] of summary.entries()) {
    const own = samples.own.get(row.name)!
    const variant = variants[index]!
    const isBase = baselineOf(variants, variant) === row.name
    lines.push(
      `| ${row.name} | ${row.perSecond.toFixed(0)} | ${range(own.map((s) => s.perSecond))} | ${isBase ? '1.00 (baseline)' : row.ratio.toFixed(2)} | ${row.cpuPerOp.toFixed(1)} | ${range(
        own.map((s) => s.cpuPerOp),
        1,
      )} | ${isBase ? '–' : `${row.extraCpu >= 0 ? '+' : ''}${row.extraCpu.toFixed(1)}`} |`,
    )
  }
  return lines.join('\n')
}
