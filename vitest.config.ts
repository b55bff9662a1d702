import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packages = fileURLToPath(new URL('./packages/', import.meta.url))

// Every @callsign/* import (entry points included) resolves to the package's source, as its
// `@callsign/source` export condition says, so tests never run against a stale build.
const alias = readdirSync(packages).flatMap((name) => {
  const { exports } = JSON.parse(readFileSync(`${packages}${name}/package.json`, 'utf8')) as {
    exports: Record<string, { '@callsign/source': string }>
  }
  return Object.entries(exports).map(([subpath, conditions]) => ({
    find: new RegExp(`^@callsign/${name}${subpath.slice(1)}$`),
    replacement: `${packages}${name}/${conditions['@callsign/source'].slice(2)}`,
  }))
})

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
  },
})
