import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Bundles a worker script with the package sources into one file, so each worker process starts in
 * plain Node in a few tens of milliseconds. esbuild is the one tsx itself runs on.
 */
export async function bundleWorker(name: string): Promise<string> {
  const require = createRequire(createRequire(import.meta.url).resolve('tsx'))
  const esbuild = require('esbuild') as { build(options: Record<string, unknown>): Promise<unknown> }
  const outfile = join(mkdtempSync(join(tmpdir(), 'callsign-pg-worker-')), `${name}.mjs`)
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
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
