'use strict';

/**
 * esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`).
 *
 * `yaml` declares no `sideEffects` in its package.json, so esbuild keeps all of it in any bundle
 * that imports it, even unused. Importing it has no side effects (it only defines classes and
 * functions), so saying so lets esbuild drop it from every function but BuildBundle, which renders
 * and parses YAML. The Lambdas read the config from the JSON embedded at package time.
 */
const sideEffectFree = {
  name: 'ebship-side-effect-free',
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, async (args) => {
      if (args.pluginData?.ebshipResolved) return undefined;
      const result = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { ebshipResolved: true },
      });
      if (result.errors.length > 0) return { errors: result.errors };
      return { path: result.path, sideEffects: false };
    });
  },
};

module.exports = [sideEffectFree];
