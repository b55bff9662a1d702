import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packages = fileURLToPath(new URL('./packages/', import.meta.url))
const modules = fileURLToPath(new URL('./node_modules/', import.meta.url))

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

/**
 * The framework version matrix: the adapter suites run once more against the lowest version of each
 * framework that its adapter's peer range allows (Express 5.1 with router 2.2, Fastify 5.0, grpc-js
 * 1.12); the main run uses the highest. A release that changes what an adapter relies on fails here.
 */
const lowest = Object.entries({
  express: `${modules}express-lowest`,
  fastify: `${modules}fastify-lowest`,
  '@grpc/grpc-js': `${modules}grpc-js-lowest`,
}).map(([name, dir]) => ({ find: new RegExp(`^${name}(?=/|$)`), replacement: dir }))
const adapterSuites = [
  'packages/express/test/**/*.test.ts',
  'packages/fastify/test/**/*.test.ts',
  'packages/grpc/test/**/*.test.ts',
  'test/adapters/contract.test.ts',
  'test/adapters/trust-boundary.test.ts',
  'test/adapters/framework-versions.test.ts',
  'test/mtls-revocation.test.ts',
]

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: false },
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
        },
      },
      {
        extends: true,
        resolve: { alias: [...lowest, ...alias] },
        test: { name: 'lowest frameworks', include: adapterSuites, env: { CALLSIGN_FRAMEWORKS: 'lowest' } },
      },
    ],
  },
})
