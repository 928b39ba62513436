'use strict';

const { dirname, join } = require('node:path');

/**
 * esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`).
 *
 * esbuild keeps every top-level statement of an imported module that might have a side effect, and
 * a call such as `z.object(...)` might, so a module is kept whole unless it is declared side-effect
 * free. Two modules have no import-time side effects (they only define classes, functions and
 * schemas) and are dropped where nothing uses them:
 * - `yaml`, which declares no `sideEffects` in its package.json: only BuildBundle, which renders
 *   and parses YAML, keeps it; the Lambdas read the config from the JSON embedded at package time.
 *   BuildBundle gets yaml's ES module build (its `browser/` folder, the same source as the CommonJS
 *   `dist/` its `node` export condition names): esbuild wraps a CommonJS package whole and runs it
 *   at import, about 20 ms CPU for yaml here against 8 ms for the ES build (docs/benchmarks.md). The
 *   two builds differ only in how yaml reports a warning: console.warn instead of
 *   process.emitWarning, and no LOG_STREAM/LOG_TOKENS debug output.
 * - lib/config/schema.ts, the zod schema of ebship.yml: the packaged config was validated at
 *   package time (lib/runtime.ts), so building the schema again would only cost cold-start time.
 */
const SIDE_EFFECT_FREE = [
  { filter: /^yaml$/, path: /[\\/]node_modules[\\/]yaml[\\/]/, esm: 'browser/index.js' },
  { filter: /(^|\/)schema\.js$/, path: /[\\/]lib[\\/]config[\\/]schema\.ts$/ },
];

const sideEffectFree = {
  name: 'ebship-side-effect-free',
  setup(build) {
    for (const { filter, path, esm } of SIDE_EFFECT_FREE) {
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData?.ebshipResolved) return undefined;
        // The package's own package.json locates its ES build (its exports map does not name it).
        const result = await build.resolve(esm ? `${args.path}/package.json` : args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { ebshipResolved: true },
        });
        if (result.errors.length > 0) return { errors: result.errors };
        if (!path.test(result.path)) return undefined;
        const resolved = esm ? join(dirname(result.path), esm) : result.path;
        return { path: resolved, sideEffects: false };
      });
    }
  },
};

module.exports = [sideEffectFree];
