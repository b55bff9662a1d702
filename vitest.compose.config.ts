import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

// `pnpm test:compose`: the example mesh in docker compose, end to end. Not part of `pnpm test`.
export default defineConfig({
  ...base,
  test: {
    include: ['examples/mesh/test/compose-run.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 1_200_000,
  },
})
