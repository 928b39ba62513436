/**
 * `npm run bench`: speed, cost and size of ebship, measured and written to docs/benchmarks.md.
 * Nothing here is asserted: numbers are for people to compare across changes.
 *
 *   npm run bench                       all measurements
 *   npm run bench -- --no-package       skip `serverless package` (artifact sizes, cold import)
 *   npm run bench -- --fleet 1,20,50     fleet sizes to push at once (default 1,20,50,200)
 */
// The workflow harness must load first: it points DynamoDB at an in-process dynalite.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { renderBundle } from '../lib/bundle/render.js';
import { zipBundle } from '../lib/bundle/zip.js';
import { loadConfig } from '../lib/config/load.js';
import { healthVerdict } from '../lib/health/verdict.js';
import { DEFAULT_FALLBACK_SECONDS } from '../lib/health/wake-interval.js';
import { behaviours, digest, FakeAws, mocks, runDeploy, startDynamo } from '../test/workflow/harness.js';
import { artifactSection } from './artifacts.js';
import type { FleetResult } from './fleet.js';
import { judgeTimelines } from './peers.js';

/** One fleet run in its own process (bench/fleet.ts): the handlers keep their first SDK clients. */
function runFleet(n: number, options: Record<string, number | string | boolean> = {}): FleetResult {
  const text = execFileSync('npx', ['tsx', 'bench/fleet.ts', String(n), JSON.stringify(options)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // Not this process's test environment (the mocked section's DynamoDB endpoint, table, topic):
    // the fleet sets its own, pointing at its stand-in.
    env: {
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          ([k]) =>
            !/^(AWS_|EBSHIP_|TABLE_NAME$|BUNDLE_BUCKET$|ALERT_TOPIC_ARN$|MIGRATION_DOCUMENT_NAME$)/.test(k),
        ),
      ),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
  });
  return JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as FleetResult;
}

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
out(
  'A simulated poll is 15 s of EB time; Wait states run at zero. Transitions are billed ones: states entered plus retries. Each execution reads EB itself here (`EBSHIP_HEALTH_READ=direct`: the mocked EB models one environment answering its own calls); the shared read is measured on the stand-in below.',
);
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
  const transitions = run.events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried').length;
  const lambdas = run.events.filter((e) => e.type === 'StateEntered' && e.state.type === 'Task').length;
  const cost = transitions * SFN_PER_TRANSITION + lambdas * LAMBDA_PER_REQUEST;
  out(
    `| ${path} | ${run.error ?? run.status} | ${transitions} | ${lambdas} | ${mocks.eb.calls().length - ebBefore} | $${cost.toFixed(5)} | ${wall.toFixed(0)} |`,
  );
}
await stop();
out();

const previousDoc = readFileSync('docs/benchmarks.md', 'utf8');
if (process.argv.includes('--no-package')) {
  // Packaging was skipped: keep the last measured section, said to be from an earlier run.
  const from = previousDoc.indexOf('## Lambda artifacts');
  const to = from >= 0 ? previousDoc.indexOf('\n## ', from + 1) : -1;
  if (from >= 0 && to > from) {
    const section = previousDoc.slice(from, to).trim().split('\n');
    const note = '(Not measured by this run, `--no-package`: the figures below are from the run before it.)';
    out(section[0]);
    out();
    if (section[2] !== note) out(note);
    for (const line of section.slice(1)) if (line !== note) out(line);
    out();
  }
} else {
  for (const line of await artifactSection()) out(line);
}

const fleetArg = process.argv.indexOf('--fleet');
const fleetSizes = (fleetArg > 0 ? (process.argv[fleetArg + 1] ?? '') : '1,20,50,200')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

out('## Push → UpdateEnvironment (stand-in, real handlers and ASL)');
out();
out(
  "Simulated seconds from the ECR push to EB receiving UpdateEnvironment. The stand-in charges every Lambda invocation a fixed simulated second (standin/services/sfn-tasks.ts), a deliberately high figure that keeps simulated durations the same on a loaded machine; the rows take that apart from the Wait states (EB processing the version) and the handlers' own time. **Without the charge** is the push → UpdateEnvironment path with the stand-in's second replaced by each handler's measured time: what ebship's own steps and waits cost. On AWS each invocation adds Lambda's and Step Functions' own overhead on top, which cannot be measured here.",
);
out();
out(
  '| EB processes the version in | push → UpdateEnvironment | invocations (1 s each) | waiting for EB | ebship handlers | without the charge |',
);
out('| --- | --- | --- | --- | --- | --- |');
for (const processSeconds of [1, 10]) {
  const r = runFleet(1, { processSeconds });
  const p = r.pushToUpdate;
  if (p)
    out(
      `| ${processSeconds} s | ${p.seconds.toFixed(1)} s | ${p.invocations} | ${p.waitSeconds.toFixed(1)} s | ${p.handlerSeconds.toFixed(2)} s | ${(p.waitSeconds + p.handlerSeconds).toFixed(2)} s |`,
    );
}
out();

/**
 * The watch before issue 13 and the watch of issue 13, run on the same scenarios. The poll-only
 * watch is not run past POLL_UP_TO environments: at 50 it already spent 62 % of its EB calls on
 * throttling (docs/benchmarks.md), and at 200 it would only queue longer behind EB's 2 calls/s.
 */
const WATCHES = [
  { label: 'poll, direct', options: { watch: 'poll', healthRead: 'direct' } },
  { label: 'events, shared', options: { watch: 'events', healthRead: 'shared' } },
] as const;
const POLL_UP_TO = 50;
/** Seconds after the update completed at which EB reports Red, one run each. */
const RED_MOMENTS = [31, 37, 43, 48, 53];

out("## A fleet pushed at once (stand-in, EB's throttle of 2 calls/s, burst 15)");
out();
out(
  "N targets, one push each, at the same instant, through the real ECR rule, state machine and handlers, healthy releases. Two watches side by side on the same scenario: **poll, direct**, the watch before issue 13 (every execution polls EB itself every 15 s: `health.watch: poll`, `EBSHIP_HEALTH_READ=direct`), and **events, shared**, the watch of issue 13 (woken by EB's EventBridge events through ebEvents, with a fallback read after 60 s without one; each read from the fleet's batched read (lib/health/fleet-read.ts: one DescribeEnvironments with every watched name at every look, one account-wide DescribeEvents only when a look sees the environment change or would end the watch, DescribeInstancesHealth per environment only at a verdict that ends the deploy, all under a BUDGET of 1 call/s, burst 10). Calls per env-minute count the health watch's EB reads from UpdateEnvironment to EB's \"update completed\" event (Updating) and from there to the watch's last look, CheckHealth or CheckHealthAfterWait (bake); a batched call is shared among the environments watched at that moment. A false rollback is a rollback of an environment EB never reported unhealthy. GB-s counts each invocation at its memory size, with the stand-in's 1 s per invocation included.",
);
out();
out(
  '| N | watch | outcomes | false rollbacks | EB calls (all steps) | throttled | watch calls per env-minute: Updating / bake | median / slowest deploy | Lambda GB-s per deploy | transitions per deploy (retries) | wall s |',
);
out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const n of fleetSizes) {
  for (const mode of WATCHES) {
    if (mode.options.watch === 'poll' && n > POLL_UP_TO) {
      out(`| ${n} | ${mode.label} | not run (see POLL_UP_TO in bench/run.ts) | | | | | | | | |`);
      continue;
    }
    const r = runFleet(n, mode.options);
    out(
      `| ${n} | ${mode.label} | ${Object.entries(r.outcomes)
        .map(([k, v]) => `${v} ${k}`)
        .join(
          ', ',
        )} | ${r.falseRollbacks} | ${r.ebCalls} | ${r.throttled} | ${r.watch.updatingPerEnvMinute.toFixed(2)} / ${r.watch.bakePerEnvMinute.toFixed(2)} | ${r.medianSeconds.toFixed(0)} / ${r.maxSeconds.toFixed(0)} s | ${(r.lambdaGbSeconds / n).toFixed(1)} | ${r.transitionsPerExecution.toFixed(1)} (${r.retries}) | ${r.wallSeconds.toFixed(0)} |`,
    );
  }
}
out();
out(
  'A 10-minute deploy (one target, EB Updating for 300 s, then the default 300 s bake), and Red to rollback: EB reports Red (its "Environment health has transitioned ... to Severe" event) 31–53 s after the update completed, and the seconds until the rollback\'s UpdateEnvironment, median of 5 runs with the Red moment moved each time (the polls\' jitter differs per run).',
);
out();
out(
  '| watch | 10-minute deploy: billed transitions | its watch calls per env-minute: Updating / bake | Red to rollback, median (min–max) of 5 | within 10 s |',
);
out('| --- | --- | --- | --- | --- |');
for (const mode of WATCHES) {
  // Ten minutes from UpdateEnvironment to the verdict: 300 s of update, then the default bake.
  const long = runFleet(1, { ...mode.options, updateSeconds: 300 });
  const reds = RED_MOMENTS.flatMap(
    (redAfterSeconds) => runFleet(1, { ...mode.options, redAfterSeconds }).redToRollback,
  );
  const sorted = [...reds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  out(
    `| ${mode.label} | ${long.transitionsPerExecution.toFixed(0)} | ${long.watch.updatingPerEnvMinute.toFixed(2)} / ${long.watch.bakePerEnvMinute.toFixed(2)} | ${median.toFixed(1)} s (${(sorted[0] ?? Number.NaN).toFixed(1)}–${(sorted.at(-1) ?? Number.NaN).toFixed(1)}) | ${sorted.filter((x) => x <= 10).length} of ${sorted.length} |`,
  );
}
out();
out(
  `A crash-looping release (its instances Severe while EB keeps Updating until its command timeout, 600 s by default: standin/scenarios/crash-loop.yml), and Red with every EB event lost (EventBridge drops all of them, so only the fallback read finds the change; health.fallbackSeconds defaults to ${DEFAULT_FALLBACK_SECONDS} s): the same 5 Red moments as above.`,
);
out();
out(
  "| watch | crash-looping release: AbortEnvironmentUpdate / back on the previous version, s after the deploy's UpdateEnvironment | every EB event lost: Red to rollback, median (min–max) of 5 | within one fallback interval |",
);
out('| --- | --- | --- | --- |');
for (const mode of WATCHES) {
  const crash = runFleet(1, { ...mode.options, crashLoop: true });
  const abort = crash.aborted[0];
  const lost = RED_MOMENTS.flatMap(
    (redAfterSeconds) => runFleet(1, { ...mode.options, redAfterSeconds, dropEbEvents: true }).redToRollback,
  ).sort((a, b) => a - b);
  const median = lost[Math.floor(lost.length / 2)] ?? Number.NaN;
  out(
    `| ${mode.label} | ${abort ? `${abort.abortSeconds.toFixed(0)} / ${abort.rollbackSeconds.toFixed(0)} s` : `not aborted (${Object.keys(crash.outcomes).join(', ')})`} | ${median.toFixed(1)} s (${(lost[0] ?? Number.NaN).toFixed(1)}–${(lost.at(-1) ?? Number.NaN).toFixed(1)}) | ${lost.filter((x) => x <= DEFAULT_FALLBACK_SECONDS).length} of ${lost.length} |`,
  );
}
out();
out('How one deploy grows with the length of the update and the number of instances:');
out();
out('| instances | update s | EB calls | deploy s | transitions |');
out('| --- | --- | --- | --- | --- |');
for (const [instances, updateSeconds] of [
  [1, 60],
  [1, 240],
  [1, 600],
  [10, 240],
  [20, 240],
] as const) {
  const r = runFleet(1, { instances, updateSeconds });
  out(
    `| ${instances} | ${updateSeconds} | ${r.ebCalls} | ${r.medianSeconds.toFixed(0)} | ${r.transitionsPerExecution} |`,
  );
}
out();

out('## Bad deploys called a success');
out();
out(
  "40 timelines: the environment is Ready and Green after an update of 60–240 s, then goes Red and stays Red: 0–55 s after Ready (a release that fails once it takes traffic), or 60–180 s after (a release failing its health check on an environment without traffic: EB's default load balancer checks call it unhealthy after 75 s, 150 s with a network load balancer, and enhanced health reports it once it persists). Each tool's polling rule (bench/peers.ts says which, and where each comes from) judges the same timelines; ebship runs its real verdict function.",
);
out();
out('| tool | called success: Red 0–55 s after Ready (of 40) | Red 60–180 s after Ready (of 40) |');
out('| --- | --- | --- |');
const late = judgeTimelines(40, 60, 180);
for (const row of judgeTimelines()) {
  out(`| ${row.tool} | ${row.calledSuccess} | ${late.find((r) => r.tool === row.tool)?.calledSuccess} |`);
}
out();

// The sections written by hand (what the rows show, the mutation scores from `npm run mutate`, which
// takes minutes per module) come last: keep them from the first on.
const previous = previousDoc;
const byHand = ['\n## What the rows show', '\n## Mutation testing']
  .map((heading) => previous.indexOf(heading))
  .filter((at) => at >= 0);
const kept = byHand.length > 0 ? previous.slice(Math.min(...byHand) + 1) : '';
writeFileSync('docs/benchmarks.md', `${lines.join('\n')}\n${kept}`);
console.log('\nwritten to docs/benchmarks.md');
