import { defineConfig } from 'vitest/config';

/**
 * The tests a mutation run of lib/steps and lib/store uses (stryker.config.steps.mjs): the step and
 * store unit tests and the ASL workflow tests, which run the real handlers. The other unit suites
 * (health, preflight, bundle, config) never reach these files, and the stand-in, end-to-end and CLI
 * suites take minutes per mutant. MUTATE_UNIT=1 leaves the workflow tests out; MUTATE_TESTS=store keeps
 * only the store and step tests, which judge lib/store on their own (stryker.config.steps.mjs);
 * MUTATE_TESTS=deploy keeps the tests of the deploy-side steps (build-bundle, create-app-version,
 * deploy-version, roll-back: their handler and step tests) and of lib/aws/eb.ts.
 */
const DEPLOY_TESTS = [
  'test/unit/functions/build-bundle.test.ts',
  'test/unit/functions/create-app-version.test.ts',
  'test/unit/functions/deploy-version.test.ts',
  'test/unit/functions/roll-back.test.ts',
  'test/unit/steps/**/*.test.ts',
  'test/unit/aws/eb.test.ts',
];

export default defineConfig({
  test: {
    include:
      process.env.MUTATE_TESTS === 'store'
        ? ['test/unit/store/**/*.test.ts', 'test/unit/steps/**/*.test.ts']
        : process.env.MUTATE_TESTS === 'deploy'
          ? DEPLOY_TESTS
          : [
              'test/unit/functions/**/*.test.ts',
              'test/unit/steps/**/*.test.ts',
              'test/unit/store/**/*.test.ts',
              'test/unit/workflow/**/*.test.ts',
              ...(process.env.MUTATE_UNIT === '1'
                ? []
                : ['test/workflow/deploy.test.ts', 'test/workflow/definition.test.ts']),
            ],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { EBSHIP_FUZZ_RUNS: '20' },
  },
});
