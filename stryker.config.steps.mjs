// Mutation run of lib/steps and lib/store (issue 15), on a shared machine: one test runner, and only
// the tests that can reach these files (stryker.config.steps.vitest.ts). Run one or a few files:
//   MUTATE_RUN=lock nice -n 15 npx stryker run stryker.config.steps.mjs --mutate lib/steps/acquire-lock.ts
// Reports go to coverage/mutation/<MUTATE_RUN>.{html,json} (gitignored); scores in docs/benchmarks.md.
// MUTATE_UNIT=1 leaves out the ASL workflow tests: for lib/store, whose functions every workflow test
// reaches, they double the run and the store's own tests are meant to judge it. MUTATE_TESTS=store
// keeps only test/unit/store and test/unit/steps (the store's own tests and the steps that use it).
import base from './stryker.config.mjs';

const run = process.env.MUTATE_RUN ?? 'steps';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'stryker.config.steps.vitest.ts' },
  // A mutant that loops (the lock's retry loop) is given up on after 8 s more than the tests take.
  timeoutMS: 8_000,
  mutate: [
    'lib/steps/**/*.ts',
    // Rewritten by other work at the time of the first run; mutate them on purpose with --mutate.
    '!lib/steps/notify.ts',
    '!lib/steps/execution-ended.ts',
    '!lib/steps/migration-check.ts',
    'lib/store/**/*.ts',
  ],
  concurrency: 1,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `coverage/mutation/${run}.html` },
  jsonReporter: { fileName: `coverage/mutation/${run}.json` },
  tempDirName: `coverage/.stryker-tmp-${run}`,
};
