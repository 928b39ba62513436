import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The stand-in and serverless packaging tests bind ports and spawn processes: keep files isolated.
    pool: 'forks',
  },
});
