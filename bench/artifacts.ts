/**
 * The "Lambda artifacts" part of `npm run bench`: each function's zip, its bundle and the CPU time of
 * importing that bundle in a fresh Node (the share of a cold start that is ebship's).
 *
 *   npx tsx bench/artifacts.ts           package, measure, print the section
 *   npx tsx bench/artifacts.ts --write   the same, and put it in docs/benchmarks.md in place of the last one
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';

/** serverless.yml's function key (camelCase) to its handler file (kebab-case). */
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * What AWS Lambda's Node.js runtime has already loaded when it imports a handler: its runtime
 * interface client requires `http` (RAPIDClient.js), `net` (ResponseStream.js), `util` and `fs`
 * (LogPatch.js, Errors.js), `path` (UserFunction.js) and `assert` (InvokeContext.js) before
 * UserFunction.js imports the handler (aws-lambda-nodejs-runtime-interface-client, src/). The
 * "after the runtime" column loads these first, so it counts only what the handler's import adds.
 */
export const LAMBDA_RUNTIME_PRELOAD = ['util', 'assert', 'fs', 'http', 'net', 'path'];

const RUNS = 9;

/**
 * The environment a function's Node starts with: what Lambda sets, not this shell's. In particular
 * no NODE_EXTRA_CA_CERTS: from Node.js 20 on, Lambda's runtimes leave it unset and load no CA
 * certificates beyond Node's own at cold start (AWS Compute blog announcing the Node.js 20.x
 * runtime, 2023-11; summarised in the stored page dev.classmethod.jp/articles/
 * node-extra-ca-certs-influence-cold-start). Machines like this one set it to the whole system
 * bundle, which Node parses when the SDK first loads `tls`: about 10 ms CPU per function here, 18 %
 * of RecordOutcome's instructions under callgrind. NODE_OPTIONS is left out for the same reason.
 * LANG and TZ are the values Lambda sets (Lambda developer guide, "Defined runtime environment
 * variables").
 */
const LAMBDA_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  LANG: 'en_US.UTF-8',
  TZ: ':UTC',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/**
 * Median CPU milliseconds of loading `file` in a fresh Node, over `runs` processes, the way Lambda's
 * runtime loads a handler: `require()` for a `.cjs` file, `import()` for an ES module (its
 * UserFunction.js); with `preload`, those built-ins are required first and not counted.
 */
export function importCpuMs(file: string, runs = RUNS, preload: readonly string[] = []): string {
  const load = file.endsWith('.cjs') ? 'r(process.argv[1])' : 'await import(process.argv[1])';
  const script =
    'import{createRequire}from"node:module";const r=createRequire(import.meta.url);for(const m of JSON.parse(process.argv[2]))r(m);' +
    `const t=process.cpuUsage();${load};const c=process.cpuUsage(t);console.log((c.user+c.system)/1000)`;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    try {
      const outText = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', script, resolve(file), JSON.stringify(preload)],
        {
          env: LAMBDA_ENV,
          encoding: 'utf8',
        },
      );
      samples.push(Number(outText.trim().split('\n').at(-1)));
    } catch {
      return 'n/a';
    }
  }
  samples.sort((a, b) => a - b);
  return (samples[Math.floor(runs / 2)] ?? 0).toFixed(0);
}

/**
 * The floor under every function: small modules bundled with the Lambdas' esbuild settings
 * (serverless.yml's, see lambdaBuildSettings), each loaded the same way as the functions.
 */
const FLOOR_PROBES: { name: string; source: string }[] = [
  {
    name: "the Node built-ins the SDK's HTTP, signing and checksum code loads (https, crypto, zlib, stream, fs, os)",
    source:
      "import * as https from 'node:https'; import * as crypto from 'node:crypto'; import * as zlib from 'node:zlib'; import * as stream from 'node:stream'; import * as fs from 'node:fs/promises'; import * as os from 'node:os'; export const used = [https, crypto, zlib, stream, fs, os];",
  },
  {
    name: 'the Powertools logger, constructed',
    source:
      "import { Logger } from '@aws-lambda-powertools/logger'; export const logger = new Logger({ serviceName: 'probe' });",
  },
  {
    name: 'one SDK client (Elastic Beanstalk, one command), imported but not constructed',
    source:
      "import { ElasticBeanstalkClient, DescribeEnvironmentsCommand } from '@aws-sdk/client-elastic-beanstalk'; export const used = [ElasticBeanstalkClient, DescribeEnvironmentsCommand];",
  },
  {
    name: 'the same client, constructed as the functions do',
    source:
      "import { ElasticBeanstalkClient, DescribeEnvironmentsCommand } from '@aws-sdk/client-elastic-beanstalk'; export const client = new ElasticBeanstalkClient({}); export const used = [DescribeEnvironmentsCommand];",
  },
  {
    name: 'two clients, constructed (Elastic Beanstalk and the DynamoDB document client)',
    source:
      "import { ElasticBeanstalkClient, DescribeEnvironmentsCommand } from '@aws-sdk/client-elastic-beanstalk'; import { DynamoDBClient } from '@aws-sdk/client-dynamodb'; import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb'; export const eb = new ElasticBeanstalkClient({}); export const db = DynamoDBDocumentClient.from(new DynamoDBClient({})); export const used = [DescribeEnvironmentsCommand, GetCommand];",
  },
];

/**
 * serverless.yml's esbuild options that shape a bundle (`custom.esbuild`) and its plugins, read from
 * the files so the probes cannot drift from the Lambdas. Left out: the embedded config, which only
 * decides what of ebship's own code a function keeps, and serverless-esbuild's own keys.
 */
function lambdaBuildSettings(): BuildOptions {
  const doc = parse(readFileSync('serverless.yml', 'utf8'), { logLevel: 'error' }) as {
    custom: { esbuild: Record<string, unknown> & { plugins: string } };
  };
  const { bundle, minify, keepNames, format, platform, target, mainFields, alias, plugins } =
    doc.custom.esbuild;
  return {
    bundle,
    minify,
    keepNames,
    format,
    platform,
    target,
    mainFields,
    alias,
    plugins: createRequire(import.meta.url)(resolve(plugins)),
  } as BuildOptions;
}

/** The floor rows: each probe's bundle bytes and import CPU, fresh and after the runtime's modules. */
export async function floorRows(): Promise<string[]> {
  const { build } = await import('esbuild');
  const settings = lambdaBuildSettings();
  const dir = mkdtempSync(join(tmpdir(), 'ebship-floor-'));
  const rows = [
    '| what is imported | bundle bytes | import ms CPU | after the runtime |',
    '| --- | --- | --- | --- |',
  ];
  for (const [i, probe] of FLOOR_PROBES.entries()) {
    const outfile = join(dir, `probe-${i}.cjs`);
    await build({
      ...settings,
      stdin: { contents: probe.source, resolveDir: process.cwd(), loader: 'ts' },
      outfile,
      logLevel: 'error',
    });
    rows.push(
      `| ${probe.name} | ${statSync(outfile).size} | ${importCpuMs(outfile)} | ${importCpuMs(outfile, RUNS, LAMBDA_RUNTIME_PRELOAD)} |`,
    );
  }
  return rows;
}

/** The AWS SDK clients bundled into a function, from its source map (each costs its own construction). */
function clientsOf(bundle: string): string[] {
  try {
    const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] };
    const names = new Set<string>();
    for (const source of map.sources) {
      const match = /node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(source);
      if (match?.[1]) names.add(match[1]);
    }
    return [...names].sort();
  } catch {
    return [];
  }
}

/** Packages the service (`serverless package`) and measures each function: the section's lines. */
export async function artifactSection(): Promise<string[]> {
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
    `Zipped size, the bundle's size unzipped (what V8 compiles), the AWS SDK clients it builds, and the CPU time of loading the bundle with require(), as Lambda's Node.js runtime loads a .cjs handler, in Node ${process.version}, median of ${RUNS} processes: in a fresh Node, and **after the runtime**, with the built-ins AWS Lambda's Node.js runtime has already loaded when it imports a handler (${LAMBDA_RUNTIME_PRELOAD.join(', ')}: its runtime interface client requires them first) loaded before the clock starts. The second is the share of a Lambda cold start that is ours. Source maps stay out of the zips (\`ebship trace\` maps stack traces).`,
    '',
    '| artifact | zip bytes | bundle bytes | SDK clients | import ms CPU | after the runtime |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  const measured: Measured[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .sort()) {
    const bundle = join('.esbuild', '.build', 'functions', `${kebab(file.replace(/\.zip$/, ''))}.cjs`);
    const fresh = importCpuMs(bundle);
    const warm = importCpuMs(bundle, RUNS, LAMBDA_RUNTIME_PRELOAD);
    const zip = statSync(join(dir, file)).size;
    const clients = clientsOf(bundle);
    measured.push({ file, fresh: Number(fresh), afterRuntime: Number(warm), zip });
    lines.push(
      `| ${file} | ${zip} | ${statSync(bundle).size} | ${clients.length} (${clients.join(', ')}) | ${fresh} | ${warm} |`,
    );
  }
  lines.push(
    '',
    '**The floor under every function**: the same esbuild settings on a few small modules, measured the same way. One SDK client costs about as much as its built-ins and its construction, before any command is sent; every function builds at least one, and logs through Powertools.',
    '',
    ...(await floorRows()),
    '',
    ...WHAT_DOMINATES,
    '',
    leftAbove100(measured),
    '',
  );
  return lines;
}

interface Measured {
  file: string;
  fresh: number;
  afterRuntime: number;
  zip: number;
}

/** The "left above 100 ms" paragraph, its counts from this run's rows. */
function leftAbove100(rows: Measured[]): string {
  const count = (key: 'fresh' | 'afterRuntime') => {
    const under = rows.filter((r) => r[key] <= 100).length;
    const mid = rows.filter((r) => r[key] > 100 && r[key] <= 150).length;
    const over = rows.filter((r) => r[key] > 150).map((r) => `${r.file.replace(/\.zip$/, '')} ${r[key]}`);
    return `${under} of ${rows.length} at or under 100 ms CPU, ${mid} in 101–150 ms${over.length > 0 ? `, and ${over.join(', ')} ms` : ''}`;
  };
  const zips = rows.map((r) => r.zip);
  return (
    `**Left above 100 ms**: in this run (${new Date().toISOString().slice(0, 10)}; this 2-core machine is often shared, and one function moves by 10–20 ms from run to run): in a fresh Node ${count('fresh')}; after the runtime ${count('afterRuntime')}. ` +
    `Every zip is ${Math.round(Math.min(...zips) / 1000)}–${Math.round(Math.max(...zips) / 1000)} KB. ${LEFT_ABOVE_100}`
  );
}

const LEFT_ABOVE_100 =
  "Closest to the line are the functions with the most SDK clients: Reconcile (five, on its schedule, outside any deploy), ExecutionEnded (three) and ResolveRelease (four: the image, the last good version, the history, the promotion it starts), at 78–99 ms after the runtime in the other runs of 2026-12-02 on this machine (where the floor's built-ins took 26–31 ms, against 17 in a run as fast as the one above), and 101–111 ms before the event-stream code was left out and the SDK's names minified. Each further client adds its endpoint rules, schemas and error classes, compiled and run at import (the SDK registers every error class of a client when it loads); each client they build is one a path of theirs calls. Their margin under 100 ms (5–20 ms) is about what this machine moves a function by from one run to the next.";

/**
 * Written by hand from profiles (`node --cpu-prof` on the bundles, Node 24, 2026-12-01) and A/B
 * runs of the same bundles before and after each change, interleaved on the same machine.
 */
export const WHAT_DOMINATES = [
  "**What dominates** the import of a function now: the floor above. The Node built-ins the SDK loads (https with tls, crypto) are about 25 ms after the runtime; the first client, imported and constructed, 20–30 ms more, and each further one 4–6 ms (callgrind, 10–16 M instructions each: its schemas, endpoint rules and error classes); V8 compiling the bundle follows its bytes (about 6 ms per 100 KB here); the Powertools logger about 10–15 ms, of which its share of crypto and the console; the state contract's schemas 3–4 ms; garbage collection 5 %.",
  '',
  '**What was cut** (the same bundles before and after, interleaved, median of 9):',
  "- Issue 16's first pass (CreateAppVersion 169 → 96 ms, CheckHealth 216 → 117, RecordOutcome 175 → 97, Reconcile 245 → 111, BuildBundle 307 → 175; zips 176–348 KB → 92–236 KB):",
  "  - the SDK's ES modules (`mainFields: [module, main]` in serverless.yml): esbuild keeps the commands and schemas a function sends; the CommonJS build brought every command of every client it used;",
  '  - the config is validated at package time: `serverless package` embeds what `ebship validate --json` resolved, defaults applied, and a Lambda checks only its shape (lib/runtime.ts); no Lambda builds the config schema (about 27 ms of zod);',
  '  - AWS clients are `/* @__PURE__ */`: a function no longer builds a client its modules import but it never uses.',
  '- valibot instead of zod/mini for every schema a Lambda builds (the state contract, EB, alarm and execution events, diagnostics, the chat notification, the manual request): the state contract alone imports in 3.5 ms instead of 14.6 (29 KB → 12 KB), and no bundle carries zod. Three interleaved rounds: CreateAppVersion 114 → 99, 94 → 89, 100 → 91 ms; CheckHealth 144 → 124, 129 → 121, 129 → 113; ResolveRelease 158 → 136, 138 → 123, 143 → 126; every zip 6–7 KB smaller.',
  "- BuildBundle takes yaml's ES module build (infra/esbuild-plugins.cjs): esbuild wrapped the CommonJS build whole and ran it at import, 20 ms CPU alone against 8.",
  "- BuildBundle keeps no SDK client (2026-12-02): 137–160 → 43–47 ms after the runtime (two runs), 223 → 81 KB zipped. Its preflight on the environment (the EB and DynamoDB reads) moved to CreateAppVersion, which already held the EB client, before CreateApplicationVersion (72–84 → 84–91 ms there, two runs), and the region's version count moved from an S3 object to the table; its one S3 call, the bundle's PutObject, is a signed HTTP PUT (aws4fetch, lib/aws/s3-put.ts) instead of the S3 client, whose XML protocol, checksum and S3 Express layers were about 95 ms of its import alone (a probe bundle of BuildBundle's other modules with the S3 client: 510 KB, 138 ms; with aws4fetch: 203 KB, 42 ms). Either change alone left it over 100 ms (the upload change alone, 109 ms; the move alone, 138).",
  "- The SDK's event-stream code left out, and names kept in ebship's own code only (2026-12-02, infra/esbuild-plugins.cjs). The SDK's protocol layer loads `@smithy/core/event-streams` with `import()`, for operations that stream events, which no ebship Lambda sends; a dynamically imported module makes esbuild wrap it and every module it imports in lazy initialisers that it cannot tree-shake, which here was 125 modules of @smithy/core in every function. That import now resolves to lib/aws/no-event-streams.ts, which fails with a message if an operation ever streams. And `keepNames`, which for the SDK meant a defineProperty call per function and class at import, is off; the plugin bundles each handler's own modules with it on first, so a CloudWatch trace still names ebship's functions. Instructions after the runtime under callgrind (one run each, about ±3 %), before → names in own code only → both: CheckHealth 240 → 233 → 208 M, ExecutionEnded 246 → 238 → 207, RecordOutcome 238 → 228 → 198, ResolveRelease 265 → 246 → 218, Reconcile 278 → 257 → 229. CPU, two interleaved rounds of the packaged bundles, median of 9 each, after the runtime: ResolveRelease 102, 111 → 90, 92 ms; Reconcile 119, 110 → 99, 82; ExecutionEnded 102, 85 → 85, 72; RecordOutcome 100, 97 → 81, 84; RequestApproval 106, 90 → 78, 82; CheckHealth 84, 94 → 76, 81; every other function 5–25 ms lower but BuildBundle (no SDK client: unchanged). Every zip is 3–16 KB smaller.",
  "- CommonJS bundles (`format: cjs`, `.cjs` handlers, which Lambda's runtime loads with require()): an ES module bundle imports each Node built-in through an ESM facade that reads every export of the built-in, and so loads its lazy parts too (fs streams, crypto's key classes). Interleaved, median of 15, after the runtime: ValidateSecrets 91 → 78 ms, CheckHealth 112 → 104, RecordOutcome 110 → 102, ResolveRelease 123 → 117 (an earlier comparison had found no difference; these interleaved runs, with the runtime's modules loaded first, do).",
  '',
  "**Measured in Lambda's environment** (2026-12-01): the bench used to start each Node with this shell's environment, in which NODE_EXTRA_CA_CERTS names the system's whole CA bundle; Node parses it when the SDK first loads `tls`, which Lambda's Node.js 20 and later runtimes do not do (LAMBDA_ENV above). Under callgrind that was 18 % of RecordOutcome's instructions; interleaved, median of 15, CheckHealth went 104 → 93 ms. Every row dropped by about 10 ms with it; no bundle changed.",
  '',
  "**Considered and not done**: building the clients or schemas inside the handler with a dynamic `import()` moves the same work to the first invocation, and esbuild then keeps the whole client (RecordOutcome 332 → 415 KB, slower to import), so it was not done; the same holds for a module of only the rarely taken paths (ResolveRelease's fan-out to Step Functions and its rollback lookup in EB, 2026-12-02: 390 → 548 KB, 100 → 141 ms), since everything such a module imports is wrapped and kept whole (the reason the event-stream import above is stubbed); building the clients a function calls only on some paths (Step Functions, SNS, CloudWatch) at their first use saved 1–2 % of the instructions of RecordOutcome and Reconcile under callgrind, within the noise of the timings, so the indirection was not kept; a V8 code cache shipped in the zip (Node's portable compile cache) took 30–40 ms off BuildBundle here, but it is 1 MB against the 300 KB budget and Node uses it only when Lambda's V8 is the very version that built it; a larger V8 young generation (`--max-semi-space-size`, which copies of Lambda's Node bootstrap set from the memory size) cut garbage collection by about 10 ms in one trial, but no AWS document we hold states the flag, so the bench does not assume it.",
];

/** `doc` with its "Lambda artifacts" section replaced by `section`. */
export function replaceArtifactSection(doc: string, section: string[]): string {
  const from = doc.indexOf('## Lambda artifacts');
  if (from < 0) return doc;
  const next = doc.indexOf('\n## ', from + 1);
  return `${doc.slice(0, from)}${section.join('\n').trimEnd()}\n${next < 0 ? '' : doc.slice(next)}`;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/artifacts.ts')) {
  const section = await artifactSection();
  console.log(section.join('\n'));
  if (process.argv.includes('--write')) {
    const doc = readFileSync('docs/benchmarks.md', 'utf8');
    writeFileSync('docs/benchmarks.md', replaceArtifactSection(doc, section));
  }
}
