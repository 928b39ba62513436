/**
 * `npm run bench`: speed, cost and size of ebship, measured and written to docs/benchmarks.md.
 * Nothing here is asserted: numbers are for people to compare across changes.
 *
 *   npm run bench                 all measurements
 *   npm run bench -- --no-package skip `serverless package` (artifact sizes)
 */
// The workflow harness must load first: it points DynamoDB at an in-process dynalite.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { renderBundle } from '../lib/bundle/render.js';
import { zipBundle } from '../lib/bundle/zip.js';
import { loadConfig } from '../lib/config/load.js';
import { healthVerdict } from '../lib/health/verdict.js';
import { behaviours, digest, FakeAws, mocks, runDeploy, startDynamo } from '../test/workflow/harness.js';

// Step Functions Standard: $0.025 per 1,000 state transitions (AWS Step Functions pricing page); Lambda requests $0.20 per 1M.
const SFN_PER_TRANSITION = 0.025 / 1000;
const LAMBDA_PER_REQUEST = 0.2 / 1_000_000;

const lines: string[] = [];
const out = (line = '') => {
  lines.push(line);
  console.log(line);
};

function time<T>(runs: number, fn: () => T): { meanMs: number; result: T } {
  let result = fn();
  const start = performance.now();
  for (let i = 0; i < runs; i++) result = fn();
  return { meanMs: (performance.now() - start) / runs, result };
}

const config = loadConfig('ebship.yml');
out('# ebship benchmarks');
out();
out(
  `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${process.platform}/${process.arch}.`,
);
out('Numbers are for comparison across changes; tests never assert them.');
out();

out('## Bundle (render + deterministic zip)');
out();
out('| target | files | zip bytes | mean ms (200 runs) |');
out('| --- | --- | --- | --- |');
for (const [name, target] of Object.entries(config.targets)) {
  const secretArns = Object.fromEntries(
    Object.entries(target.secrets).map(([k, s]) => [
      k,
      `arn:aws:secretsmanager:us-east-1:123456789012:secret:${s.secretId}-AbCdEf`,
    ]),
  );
  const { meanMs, result } = time(200, () => {
    const files = renderBundle({
      target,
      imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${target.source.repository}@${digest(10)}`,
      versionLabel: 'v10-0a0a0a0a0a0a',
      secretArns,
    });
    return { files, zip: zipBundle(files) };
  });
  out(`| ${name} | ${Object.keys(result.files).length} | ${result.zip.byteLength} | ${meanMs.toFixed(3)} |`);
}
out();

out('## Health verdict');
out();
{
  const target = config.targets['antenna-prod'];
  if (!target) throw new Error('ebship.yml has no antenna-prod target');
  const snapshot = {
    now: '2026-11-23T10:02:00Z',
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    versionLabel: 'v10',
    causes: [],
    instances: Array.from({ length: 20 }, (_, i) => ({
      id: `i-${i}`,
      versionLabel: 'v10',
      deploymentStatus: 'Deployed',
      causes: [],
    })),
    events: [],
  };
  const ctx = {
    expectedVersion: 'v10',
    startedAt: '2026-11-23T10:00:00Z',
    policy: target.health,
    maxPolls: 200,
  };
  const { meanMs } = time(100_000, () =>
    healthVerdict(snapshot, ctx, { polls: 3, healthySince: '2026-11-23T10:01:30Z' }),
  );
  out(`healthVerdict on a 20-instance snapshot: ${(meanMs * 1000).toFixed(2)} µs per call (100,000 calls).`);
}
out();

out('## One deployment through the real state machine (aws-local-stepfunctions, mocked AWS)');
out();
out('A simulated poll is 15 s of EB time; Wait states run at zero. Transitions include retries.');
out();
out(
  '| path | result | state transitions | Lambda invocations | EB API calls | cost per deploy (SFN + Lambda requests) | wall ms |',
);
out('| --- | --- | --- | --- | --- | --- | --- |');
const stop = await startDynamo();
const pushEvent = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8'));
const push = (tag: string, n: number) => ({
  ...pushEvent,
  detail: { ...pushEvent.detail, 'image-tag': tag, 'image-digest': digest(n) },
});
const aws = new FakeAws().withGoodSecrets();
aws.images = [
  { repository: 'antenna-backend', tag: 'v10', digest: digest(10), pushedAt: '2026-11-23T09:00:00Z' },
  { repository: 'antenna-backend', tag: 'v11', digest: digest(11), pushedAt: '2026-11-23T09:30:00Z' },
  { repository: 'antenna-backend', tag: 'v12', digest: digest(12), pushedAt: '2026-11-23T09:45:00Z' },
];
aws.behaviourFor['v11-0b0b0b0b0b0b'] = behaviours.redAfterReady;
aws.behaviourFor['v12-0c0c0c0c0c0c'] = behaviours.neverConverges;
for (const [path, event] of [
  ['healthy deploy', push('v10', 10)],
  ['Red after Ready → rollback', push('v11', 11)],
  ['never converges → abort + rollback', push('v12', 12)],
] as const) {
  const ebBefore = mocks.eb.calls().length;
  const start = performance.now();
  const run = await runDeploy(event);
  const wall = performance.now() - start;
  const transitions = run.events.filter((e) => e.type === 'StateEntered').length;
  const lambdas = run.events.filter((e) => e.type === 'StateEntered' && e.state.type === 'Task').length;
  const cost = transitions * SFN_PER_TRANSITION + lambdas * LAMBDA_PER_REQUEST;
  out(
    `| ${path} | ${run.error ?? run.status} | ${transitions} | ${lambdas} | ${mocks.eb.calls().length - ebBefore} | $${cost.toFixed(5)} | ${wall.toFixed(0)} |`,
  );
}
await stop();
out();

if (!process.argv.includes('--no-package')) {
  out('## Lambda artifacts (`serverless package`, esbuild, minified)');
  out();
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
    out('| artifact | bytes |');
    out('| --- | --- |');
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.zip'))
      .sort())
      out(`| ${file} | ${statSync(join(dir, file)).size} |`);
  } catch (err) {
    out(`serverless package failed: ${(err as Error).message.split('\n')[0]}`);
  }
  out();
}

// The mutation-testing section is written by hand from `npm run mutate` (minutes per module): keep it.
const previous = readFileSync('docs/benchmarks.md', 'utf8');
const mutation = previous.indexOf('\n## Mutation testing');
writeFileSync(
  'docs/benchmarks.md',
  `${lines.join('\n')}\n${mutation >= 0 ? previous.slice(mutation + 1) : ''}`,
);
console.log('\nwritten to docs/benchmarks.md');
