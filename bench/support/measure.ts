import { performance } from 'node:perf_hooks'

export interface Measurement {
  readonly name: string
  /** Nanoseconds per operation: median, min and max over the rounds. */
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface MeasureOptions {
  /** Operations per round. */
  readonly iterations?: number
  /** Rounds, interleaved across the candidates so noise hits them alike. */
  readonly rounds?: number
  readonly warmup?: number
}

export type Candidate = readonly [name: string, op: () => unknown | Promise<unknown>]

/**
 * Measures several candidates in interleaved rounds after a warm-up, in the same process and run,
 * so each can be reported as a ratio to a baseline measured alongside it.
 */
export async function measure(
  candidates: readonly Candidate[],
  options: MeasureOptions = {},
): Promise<Measurement[]> {
  const iterations = options.iterations ?? 20_000
  const rounds = options.rounds ?? 7
  for (const [, op] of candidates) {
    for (let i = 0; i < (options.warmup ?? Math.min(iterations, 5_000)); i++) await op()
  }
  const samples = candidates.map(() => [] as number[])
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, op]] of candidates.entries()) {
      const start = performance.now()
      for (let i = 0; i < iterations; i++) await op()
      samples[index]!.push(((performance.now() - start) * 1e6) / iterations)
    }
  }
  return candidates.map(([name], index) => {
    const sorted = [...samples[index]!].sort((a, b) => a - b)
    return {
      name,
      median: sorted[Math.floor(sorted.length / 2)]!,
      min: sorted[0]!,
      max: sorted[sorted.length - 1]!,
    }
  })
}

/** A Markdown table of measurements with each row's ratio to the named baseline. */
export function table(rows: readonly Measurement[], baseline: string): string {
  const base = rows.find((row) => row.name === baseline)
  if (!base) throw new Error(`no baseline row "${baseline}"`)
  const lines = ['| case | median ns/op | min–max ns/op | × baseline |', '|---|---:|---:|---:|']
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${row.median.toFixed(0)} | ${row.min.toFixed(0)}–${row.max.toFixed(0)} | ${(row.median / base.median).toFixed(2)} |`,
    )
  }
  return lines.join('\n')
}
