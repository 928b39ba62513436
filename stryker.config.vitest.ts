import { defineConfig } from 'vitest/config';

/**
 * The tests a mutation run uses (stryker.config.mjs): unit and workflow tests, the ones that judge
 * decisions with plain data or the real ASL. Left out: the stand-in, end-to-end and CLI suites
 * (minutes per mutant), the Catch-route matrix (it injects faults into the ASL routing, which Stryker
 * does not mutate, and would run 43 workflows for every mutant in lib/steps), and the handler fuzz
 * at full size (a few inputs per handler keep its coverage without its minutes).
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/workflow/**/*.test.ts'],
    exclude: ['test/workflow/catch-routes.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { EBSHIP_FUZZ_RUNS: '20' },
  },
});
