'use strict';

const { dirname, join, resolve } = require('node:path');

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

const sideEffectFreeOf = (modules) => ({
  name: 'ebship-side-effect-free',
  setup(build) {
    for (const { filter, path, esm } of modules) {
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
});

const sideEffectFree = sideEffectFreeOf(SIDE_EFFECT_FREE);

/**
 * The SDK's event-stream code where its protocol layer imports it with `import()`: the stand-in of
 * lib/aws/no-event-streams.ts, since no Lambda of ebship streams events. A dynamic import makes
 * esbuild wrap its module and every module that one imports in lazy initialisers, and a wrapped
 * module is kept whole: for `@smithy/core/event-streams` that was most of @smithy/core, in every
 * function. A static import of it (the CloudWatch Logs client constructs its event-stream config)
 * still gets the real module.
 */
const noLazyEventStreams = {
  name: 'ebship-no-lazy-event-streams',
  setup(build) {
    build.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, (args) =>
      args.kind === 'dynamic-import'
        ? { path: join(__dirname, '..', 'lib', 'aws', 'no-event-streams.ts') }
        : undefined,
    );
  },
};

/**
 * Function and class names kept where a stack trace needs them: in ebship's own code, not in its
 * dependencies. esbuild's `keepNames` is all or nothing, and for the AWS SDK it means a
 * defineProperty call for each of its thousands of functions and classes at import, 5-10 % of a
 * function's cold import (docs/benchmarks.md) for frames on-call never reads. So the Lambda build
 * runs with keepNames off, and this plugin first bundles the handler's own modules (every package
 * left external) with keepNames on: tree-shaken there, the handler keeps a name call for each
 * function and class of ours it uses, and `at checkHealth (…/check-health.cjs:1:48213)` still names
 * the function. That bundle's source map goes inline, so the final map still points at the .ts lines.
 */
const HANDLER = /[\\/]functions[\\/][^\\/]+\.ts$/;

/** Of the side-effect-free modules, ebship's own: packages are bundled by the second pass. */
const ownSideEffectFree = sideEffectFreeOf(SIDE_EFFECT_FREE.filter((m) => !m.esm));

const ownNames = {
  name: 'ebship-own-names',
  setup(build) {
    const { target, define, platform } = build.initialOptions;
    build.onLoad({ filter: HANDLER }, async (args) => {
      if (args.path.split(/[\\/]/).includes('node_modules')) return undefined;
      let own;
      try {
        own = await build.esbuild.build({
          entryPoints: [args.path],
          // Beside the handler (never written), so the inline map's paths are relative to it.
          outfile: args.path.replace(/\.ts$/, '.own.js'),
          bundle: true,
          packages: 'external',
          format: 'esm',
          platform,
          target,
          define,
          keepNames: true,
          sourcemap: 'inline',
          write: false,
          metafile: true,
          logLevel: 'silent',
          plugins: [ownSideEffectFree],
        });
      } catch (err) {
        return { errors: err.errors ?? [{ text: String(err) }] };
      }
      return {
        contents: own.outputFiles[0].text,
        loader: 'js',
        resolveDir: dirname(args.path),
        watchFiles: Object.keys(own.metafile.inputs).map((input) => resolve(input)),
      };
    });
  },
};

module.exports = [sideEffectFree, noLazyEventStreams, ownNames];
