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

/**
 * Interleaved rounds after a warm-up: in each round every variant runs once, in order, with the
 * server's CPU time counted inside its own process. Noise that lasts longer than one run hits
 * every row of a round alike; the table reports each row against its baseline of the same round.
 */
export async function interleave(
  variants: readonly Variant[],
  options: RoundOptions,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<Map<string, Sample[]>> {
  for (const variant of variants) {
    const warm = await variant.load(options.warmupSeconds)
    if (warm.failed > 0 || warm.ok === 0) {
      throw new Error(
        `bench: ${variant.name} failed ${warm.failed} of ${warm.ok + warm.failed} during warm-up`,
      )
    }
  }
  const samples = new Map(variants.map((variant) => [variant.name, [] as Sample[]]))
  for (let round = 0; round < options.rounds; round++) {
    for (const variant of variants) {
      await variant.target.begin()
      const result = await variant.load(options.seconds)
      const cpu = await variant.target.end()
      if (result.failed > 0) throw new Error(`bench: ${variant.name} failed ${result.failed} operations`)
      const sample = { perSecond: result.ok / result.seconds, cpuPerOp: cpu / result.ok }
      samples.get(variant.name)!.push(sample)
      log(
        `  round ${round + 1}/${options.rounds} ${variant.name}: ${sample.perSecond.toFixed(0)}/s, ${sample.cpuPerOp.toFixed(1)} µs CPU/op`,
      )
    }
  }
  return samples
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
  /** Median over rounds of this row's throughput divided by its baseline's in the same round. */
  readonly ratio: number
  readonly cpuPerOp: number
  /** Median over rounds of the CPU per operation above the baseline's, µs. */
  readonly extraCpu: number
}

/** Per-row medians and same-round ratios. */
export function summarize(variants: readonly Variant[], samples: Map<string, Sample[]>): RowSummary[] {
  return variants.map((variant) => {
    const own = samples.get(variant.name)!
    const base = samples.get(variant.baseline ?? variants[0]!.name)!
    return {
      name: variant.name,
      perSecond: median(own.map((s) => s.perSecond)),
      ratio: median(own.map((s, i) => s.perSecond / base[i]!.perSecond)),
      cpuPerOp: median(own.map((s) => s.cpuPerOp)),
      extraCpu: median(own.map((s, i) => s.cpuPerOp - base[i]!.cpuPerOp)),
    }
  })
}

/** A Markdown throughput table: medians, min–max over rounds, ratio and CPU against the baseline. */
export function throughputTable(
  variants: readonly Variant[],
  samples: Map<string, Sample[]>,
  unit = 'req/s',
): string {
  const summary = summarize(variants, samples)
  const lines = [
    `| case | median ${unit} | min–max ${unit} | × baseline | server CPU µs/op | min–max | Δ CPU µs/op |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [index, row] of summary.entries()) {
    const own = samples.get(row.name)!
    const variant = variants[index]!
    const isBase = (variant.baseline ?? variants[0]!.name) === row.name
    lines.push(
      `| ${row.name} | ${row.perSecond.toFixed(0)} | ${range(own.map((s) => s.perSecond))} | ${isBase ? '1.00 (baseline)' : row.ratio.toFixed(2)} | ${row.cpuPerOp.toFixed(1)} | ${range(
        own.map((s) => s.cpuPerOp),
        1,
      )} | ${isBase ? '–' : `${row.extraCpu >= 0 ? '+' : ''}${row.extraCpu.toFixed(1)}`} |`,
    )
  }
  return lines.join('\n')
}
