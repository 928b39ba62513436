// Mutation testing (StrykerJS), opt-in: `npm run mutate`, never part of `npm test`.
// Scope: the decision code that keeps the safety promise (issue 15). Narrow a run with
// `npm run mutate -- --mutate lib/preflight/secrets.ts` and read docs/benchmarks.md for the last scores.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'stryker.config.vitest.ts' },
  // Only the tests that reach a mutant run for it; a type error in a mutant counts without a test run.
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'lib/health/**/*.ts',
    'lib/steps/**/*.ts',
    'lib/store/**/*.ts',
    'lib/preflight/secrets.ts',
    'lib/preflight/value-checks.ts',
    'lib/release/**/*.ts',
  ],
  // Two cores, shared: one or two test processes at a time.
  concurrency: 2,
  // Static initialisers (schemas, tables) are exercised by every test: too slow for what they show.
  ignoreStatic: true,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'coverage/mutation/mutation.html' },
  jsonReporter: { fileName: 'coverage/mutation/mutation.json' },
  tempDirName: 'coverage/.stryker-tmp',
  ignorePatterns: ['coverage', '.serverless', '.esbuild', 'dist', '.standin'],
  cleanTempDir: 'always',
};
