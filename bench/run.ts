import { readdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * `pnpm bench [--write] [name…]`: runs every bench/<name>.bench.ts (or the named ones) in turn and
 * prints the Markdown. With `--write`, the report also goes to bench/RESULTS.md. Each module
 * exports `run(): Promise<string>` returning a Markdown section. Progress goes to stderr.
 *
 * Durations: BENCH_SECONDS (per measured HTTP/gRPC round, default 4), BENCH_ROUNDS (3),
 * BENCH_WARMUP_SECONDS (2), BENCH_ABUSE_SECONDS (30).
 */
const dir = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const write = args.includes('--write')
const wanted = args.filter((arg) => arg !== '--write')
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.includes(file.replace('.bench.ts', '')))
  .sort()

const started = Date.now()
const cpu = cpus()
const header = [
  '# Callsign benchmarks',
  '',
  `${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'} · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · ${process.platform}/${process.arch}`,
  '',
  'Produced by `pnpm bench --write` (see bench/README.md). The machine is shared and noisy, so every figure is',
  'a median over interleaved rounds with its min–max, and every comparison is a ratio to a baseline measured in',
  'the same run (for HTTP and gRPC, the baseline run just before the row).',
  '',
].join('\n')
console.log(header)
const sections = [header]
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`)
  const module = (await import(pathToFileURL(`${dir}${file}`).href)) as { run(): Promise<string> }
  const section = await module.run()
  console.log(`${section}\n`)
  sections.push(section, '')
}
const minutes = ((Date.now() - started) / 60_000).toFixed(1)
sections.push(
  `_Whole run: ${minutes} minutes (${files.map((file) => file.replace('.bench.ts', '')).join(', ')})._`,
  '',
)
if (write) {
  writeFileSync(new URL('./RESULTS.md', import.meta.url), sections.join('\n'))
  process.stderr.write('bench: wrote bench/RESULTS.md\n')
}
