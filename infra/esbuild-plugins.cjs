'use strict';

/**
 * esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`).
 *
 * esbuild keeps every top-level statement of an imported module that might have a side effect, and
 * a call such as `z.object(...)` might, so a module is kept whole unless it is declared side-effect
 * free. Two modules have no import-time side effects (they only define classes, functions and
 * schemas) and are dropped where nothing uses them:
 * - `yaml`, which declares no `sideEffects` in its package.json: only BuildBundle, which renders
 *   and parses YAML, keeps it; the Lambdas read the config from the JSON embedded at package time.
 * - lib/config/schema.ts, the zod schema of ebship.yml: the packaged config was validated at
 *   package time (lib/runtime.ts), so building the schema again would only cost cold-start time.
 */
const SIDE_EFFECT_FREE = [
  { filter: /^yaml$/, path: /[\\/]node_modules[\\/]yaml[\\/]/ },
  { filter: /(^|\/)schema\.js$/, path: /[\\/]lib[\\/]config[\\/]schema\.ts$/ },
];

const sideEffectFree = {
  name: 'ebship-side-effect-free',
  setup(build) {
    for (const { filter, path } of SIDE_EFFECT_FREE) {
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData?.ebshipResolved) return undefined;
        const result = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { ebshipResolved: true },
        });
        if (result.errors.length > 0) return { errors: result.errors };
        if (!path.test(result.path)) return undefined;
        return { path: result.path, sideEffects: false };
      });
    }
  },
};

module.exports = [sideEffectFree];
