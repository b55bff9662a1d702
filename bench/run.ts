import { readdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * `pnpm bench [name…]`: runs every bench/<name>.bench.ts (or the named ones) in turn. Each module
 * exports `run(): Promise<string>` returning a Markdown section.
 */
const dir = fileURLToPath(new URL('.', import.meta.url))
const wanted = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.includes(file.replace('.bench.ts', '')))
  .sort()

console.log(
  `# Callsign benchmarks\n\n${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`,
)
for (const file of files) {
  const module = (await import(pathToFileURL(`${dir}${file}`).href)) as { run(): Promise<string> }
  console.log(await module.run())
  console.log()
}
