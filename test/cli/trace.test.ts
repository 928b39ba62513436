import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from '../support/package-service.js';
import { cli } from './harness.js';

// A function built the way serverless.yml builds the Lambdas (its esbuild settings and plugins:
// minified CommonJS, external source map, names kept in ebship's own code only), thrown from for
// real, its stack rewritten to the /var/task paths Lambda prints.
const SOURCE = `import { findVersionOrFail } from '../lib/versions.js';
export async function handler(event: { depth: number }) {
  if (event.depth > 0) return handler({ depth: event.depth - 1 });
  return findVersionOrFail();
}
`;
const LIB = `export function findVersionOrFail(): never {
  throw new Error('environment e-123 has no version');
}
`;

/** serverless.yml's `custom.esbuild` options and its plugins, as serverless-esbuild passes them. */
function lambdaBuildOptions() {
  const doc = parse(readFileSync(join(REPO, 'serverless.yml'), 'utf8'), { logLevel: 'error' }) as {
    custom: { esbuild: Record<string, unknown> };
  };
  const { bundle, minify, keepNames, format, platform, target, mainFields } = doc.custom.esbuild;
  const plugins = createRequire(import.meta.url)(join(REPO, 'infra', 'esbuild-plugins.cjs')) as Plugin[];
  return { bundle, minify, keepNames, format, platform, target, mainFields, plugins } as BuildOptions;
}

let dir: string;
let lambdaTrace: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ebship-trace-'));
  mkdirSync(join(dir, 'functions'));
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'functions', 'boom.ts'), SOURCE);
  writeFileSync(join(dir, 'lib', 'versions.ts'), LIB);
  const out = join(dir, '.esbuild', '.build', 'functions', 'boom.cjs');
  await build({
    ...lambdaBuildOptions(),
    entryPoints: [join(dir, 'functions', 'boom.ts')],
    outfile: out,
    sourcemap: 'external',
    logLevel: 'silent',
  });
  const { handler } = await import(pathToFileURL(out).href);
  const error = await handler({ depth: 2 }).catch((e: Error) => e);
  // Lambda prints CommonJS frames as plain paths under /var/task.
  const built = join(dir, '.esbuild', '.build');
  lambdaTrace = String(error.stack)
    .replaceAll(pathToFileURL(built).href, 'file:///var/task')
    .replaceAll(built, 'file:///var/task');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ebship trace', () => {
  it("names ebship's own functions in the trace CloudWatch shows, before any mapping", () => {
    expect(lambdaTrace).toMatch(
      /at findVersionOrFail \((file:\/\/)?\/var\/task\/functions\/boom\.cjs:1:\d+\)/,
    );
    expect(lambdaTrace).toMatch(/at handler \((file:\/\/)?\/var\/task\/functions\/boom\.cjs:1:\d+\)/);
  });

  it('maps every frame of a minified Lambda stack trace back to the TypeScript line it came from', async () => {
    expect(lambdaTrace).toMatch(/\/var\/task\/functions\/boom\.cjs:1:\d+/);
    writeFileSync(join(dir, 'error.txt'), lambdaTrace);

    const run = await cli(['trace', 'error.txt'], { cwd: dir });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Error: environment e-123 has no version');
    expect(run.stdout).toMatch(/at findVersionOrFail \(lib\/versions\.ts:2:\d+\)/);
    expect(run.stdout).toMatch(/at handler \(functions\/boom\.ts:4:\d+\)/);
    expect(run.stdout).toMatch(/at handler \(functions\/boom\.ts:3:\d+\)/);
    expect(run.stdout).not.toContain('/var/task');
  });

  it('says which bundle has no map and exits 1 when the maps are not the deployed build', async () => {
    writeFileSync(
      join(dir, 'other.txt'),
      'Error: x\n    at handler (file:///var/task/functions/notify.mjs:1:999)\n',
    );

    const run = await cli(['trace', 'other.txt'], { cwd: dir });

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('/var/task/functions/notify.mjs:1:999');
    expect(run.stderr).toContain('no source map for functions/notify.mjs in .esbuild/.build');
  });

  it('names the unreadable file and exits 2', async () => {
    const run = await cli(['trace', 'missing.txt'], { cwd: dir });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read missing.txt');
  });
});
