import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Bundles a worker script (`entry`, a .ts file) with the package sources into one file, so each
 * worker process starts in plain Node in a few tens of milliseconds (tsx takes a second or more per
 * process on a loaded machine). esbuild is the one tsx itself runs on. Returns the bundle's path.
 *
 * @example
 * const script = await bundleWorker(new URL('./support/writer-worker.ts', import.meta.url))
 */
export async function bundleWorker(entry: URL): Promise<string> {
  const require = createRequire(createRequire(import.meta.url).resolve('tsx'))
  const esbuild = require('esbuild') as { build(options: Record<string, unknown>): Promise<unknown> }
  const file = fileURLToPath(entry)
  const outfile = join(
    mkdtempSync(join(tmpdir(), 'callsign-worker-')),
    basename(file).replace(/\.ts$/, '.mjs'),
  )
  await esbuild.build({
    entryPoints: [file],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@callsign/source'],
    logLevel: 'error',
    // bundled CommonJS dependencies (pg) may require Node's built-ins
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  })
  return outfile
}
