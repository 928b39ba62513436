/**
 * The "Lambda artifacts" part of `npm run bench`: each function's zip, its bundle and the CPU time of
 * importing that bundle in a fresh Node (the share of a cold start that is ebship's).
 *
 *   npx tsx bench/artifacts.ts           package, measure, print the section
 *   npx tsx bench/artifacts.ts --write   the same, and put it in docs/benchmarks.md in place of the last one
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** serverless.yml's function key (camelCase) to its handler file (kebab-case). */
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Median CPU milliseconds of importing `file` in a fresh Node, over `runs` processes. */
export function importCpuMs(file: string, runs = 5): string {
  const script =
    'const t=process.cpuUsage();await import(process.argv[1]);const c=process.cpuUsage(t);console.log((c.user+c.system)/1000)';
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    try {
      const outText = execFileSync(process.execPath, ['--input-type=module', '-e', script, resolve(file)], {
        env: { ...process.env, AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' },
        encoding: 'utf8',
      });
      samples.push(Number(outText.trim().split('\n').at(-1)));
    } catch {
      return 'n/a';
    }
  }
  samples.sort((a, b) => a - b);
  return (samples[Math.floor(runs / 2)] ?? 0).toFixed(0);
}

/** Packages the service (`serverless package`) and measures each function: the section's lines. */
export function artifactSection(): string[] {
  const lines = ['## Lambda artifacts (`serverless package`, esbuild, minified)', ''];
  const dir = mkdtempSync(join(tmpdir(), 'ebship-bench-'));
  try {
    execFileSync(
      'npx',
      ['serverless', 'package', '--stage', 'bench', '--region', 'us-east-1', '--package', dir],
      {
        stdio: 'ignore',
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' },
      },
    );
  } catch (err) {
    return [...lines, `serverless package failed: ${(err as Error).message.split('\n')[0]}`, ''];
  }
  lines.push(
    `Zipped size, the bundle's size unzipped (what V8 compiles), and the CPU time of importing the bundle in a fresh Node ${process.version} (median of 5; the cold-start share that is ours). Source maps stay out of the zips (\`ebship trace\` maps stack traces).`,
    '',
    '| artifact | zip bytes | bundle bytes | import ms CPU |',
    '| --- | --- | --- | --- |',
  );
  const measured: { file: string; ms: number; zip: number }[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .sort()) {
    const bundle = join('.esbuild', '.build', 'functions', `${kebab(file.replace(/\.zip$/, ''))}.mjs`);
    const ms = importCpuMs(bundle);
    const zip = statSync(join(dir, file)).size;
    measured.push({ file, ms: Number(ms), zip });
    lines.push(`| ${file} | ${zip} | ${statSync(bundle).size} | ${ms} |`);
  }
  lines.push('', ...WHAT_DOMINATES, '', leftAbove100(measured), '');
  return lines;
}

/** The "left above 100 ms" paragraph, its counts from this run's rows. */
function leftAbove100(rows: { file: string; ms: number; zip: number }[]): string {
  const under = rows.filter((r) => r.ms < 100).length;
  const mid = rows.filter((r) => r.ms >= 100 && r.ms <= 150).length;
  const over = rows.filter((r) => r.ms > 150).map((r) => `${r.file.replace(/\.zip$/, '')} ${r.ms}`);
  const zips = rows.map((r) => r.zip);
  return (
    `**Left above 100 ms**: in this run (${new Date().toISOString().slice(0, 10)}; this 2-core machine is often shared, and one function moves by 10–20 ms from run to run), ` +
    `${under} of ${rows.length} functions imported in under 100 ms CPU, ${mid} in 100–150 ms${over.length > 0 ? `, and ${over.join(', ')} ms` : ''}; ` +
    `every zip is ${Math.round(Math.min(...zips) / 1000)}–${Math.round(Math.max(...zips) / 1000)} KB. ${LEFT_ABOVE_100}`
  );
}

const LEFT_ABOVE_100 =
  "What is left before any ebship code runs is mostly the SDK: the Node built-ins it loads and V8 compiling and running its core (@smithy/core is 100–150 KB of every bundle), about half of each import. Functions that use several clients (CheckHealth, Reconcile, ResolveRelease, ExecutionEnded, AcquireLock) pay for each. BuildBundle also carries the YAML library (120 KB) to render and lint the bundle, the S3 client with its checksums for the upload, and the EB and DynamoDB clients for preflight, all of them used. Reaching 100 ms everywhere would take fewer clients per Lambda (steps split in the state machine) or a smaller HTTP and signing stack than the SDK's.";

/**
 * Written by hand from a profile (`node --cpu-prof` on the bundles, Node 24, 2026-12-01) and A/B
 * runs of the same bundles before and after each change, interleaved on the same machine.
 */
export const WHAT_DOMINATES = [
  "**What dominates** the import of a function now (CreateAppVersion profiled; shares of its CPU): V8 compiling the bundle, about 17 % (it follows the bundle bytes, about 6 ms per 100 KB here); V8 work outside JavaScript, mostly compiling functions on first call, 15 %; loading the Node built-ins the AWS SDK needs (https, tls, crypto, zlib, stream, fs), 15 %, 25–30 ms on its own in an otherwise empty module; the bundle's top-level code (classes, lookup tables, building the SDK client), 12 %; zod building the state contract, 8 %; garbage collection, 5 %; the SDK's functions, 7 %. The Powertools logger costs 4–11 ms.",
  '',
  '**What was cut** (the same bundles before and after, interleaved, median of 9: CreateAppVersion 169 → 96 ms, CheckHealth 216 → 117, RecordOutcome 175 → 97, Reconcile 245 → 111, BuildBundle 307 → 175; zips 176–348 KB → 92–236 KB):',
  "- The SDK's ES modules (`mainFields: [module, main]` in serverless.yml): esbuild keeps the commands and schemas a function sends; the CommonJS build brought every command of every client it used.",
  '- The config is validated at package time: `serverless package` embeds what `ebship validate --json` resolved, defaults applied, and a Lambda checks only its shape (lib/runtime.ts). No Lambda builds the config schema (about 27 ms of zod) any more; lib/config/schema.ts is side-effect free to esbuild.',
  "- zod/mini for every schema a Lambda builds (the state contract, EB, alarm and execution events, diagnostics, the chat notification, the manual request with zod's English messages): 103 KB of zod per bundle became 26–31 KB, 15–30 ms less per function.",
  '- AWS clients are `/* @__PURE__ */`: a function no longer builds a client its modules import but it never uses (CheckChecks, CheckMigration, CheckRelease lost the EB client; AbortUpdate, DeployVersion, RollBack the CloudWatch one).',
  '',
  '**Considered and not done**: building the clients or schemas inside the handler with a dynamic `import()` moves the same work to the first invocation, so it was not done; `keepNames: false` saves 5–7 ms but CloudWatch stack traces would lose their function names (README, "Stack traces"); CommonJS output measured the same as ESM; moving the preflight describe cache to S3 would drop the health watch\'s snapshot read it also makes through DynamoDB, and BuildBundle is under 300 KB with it.',
];

/** `doc` with its "Lambda artifacts" section replaced by `section`. */
export function replaceArtifactSection(doc: string, section: string[]): string {
  const from = doc.indexOf('## Lambda artifacts');
  if (from < 0) return doc;
  const next = doc.indexOf('\n## ', from + 1);
  return `${doc.slice(0, from)}${section.join('\n').trimEnd()}\n${next < 0 ? '' : doc.slice(next)}`;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/artifacts.ts')) {
  const section = artifactSection();
  console.log(section.join('\n'));
  if (process.argv.includes('--write')) {
    const doc = readFileSync('docs/benchmarks.md', 'utf8');
    writeFileSync('docs/benchmarks.md', replaceArtifactSection(doc, section));
  }
}
