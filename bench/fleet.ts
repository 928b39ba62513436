/**
 * The fleet benchmark: N targets pushed at once on the stand-in, through the real ECR rule, the real
 * state machine and the real handlers, under EB's API throttle (the stand-in's token bucket: 2 calls
 * a second, burst 15, per account and region, like EB's Describe* limit). Measures what a fleet
 * costs and whether it holds: outcomes, throttled calls, EB calls per environment-minute, Lambda
 * GB-s and state transitions with retries.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { loadConfig } from '../lib/config/load.js';
import { createClock, installClock } from '../standin/clock.js';
import { loadEcrRulePattern } from '../standin/ecr-rule.js';
import { freePort } from '../standin/ports.js';
import { provision } from '../standin/provision.js';
import { addEbEventsRule, loadDefinition, loadRegistry, pointHandlersAt } from '../standin/run-scenario.js';
import { loadScenario } from '../standin/scenarios.js';
import { startStandin } from '../standin/server.js';
import {
  type HistoryEvent,
  LAMBDA_INVOCATION_MS,
  type TaskHandlerResolver,
} from '../standin/services/step-functions.js';

export interface FleetResult {
  targets: number;
  outcomes: Record<string, number>;
  ebCalls: number;
  throttled: number;
  /** EB calls divided by the environment-minutes the executions ran. */
  ebCallsPerEnvMinute: number;
  /** Median and slowest execution, simulated seconds. */
  medianSeconds: number;
  maxSeconds: number;
  /** Lambda GB-seconds over all executions (memory from serverless.yml × invocation time). */
  lambdaGbSeconds: number;
  /** State transitions per execution, retries included (AWS bills both). */
  transitionsPerExecution: number;
  retries: number;
  wallSeconds: number;
  /** Push → UpdateEnvironment of the first execution, taken apart (simulated seconds). */
  pushToUpdate?: PushToUpdate;
  /** EB calls of the health watch per environment-minute, while EB is Updating and during the bake (watch.ts). */
  watch: WatchCalls;
  /** Executions that rolled back although EB never reported the new version unhealthy. */
  falseRollbacks: number;
  /** Seconds from EB's first report of Red (its health transition event) to the rollback's UpdateEnvironment, per environment that went Red. */
  redToRollback: number[];
  /** Seconds from the deploy's UpdateEnvironment to AbortEnvironmentUpdate and to the environment being back on its previous version (EB's revert, or the rollback's UpdateEnvironment), per environment ebship aborted. */
  aborted: { abortSeconds: number; rollbackSeconds: number }[];
}

export interface WatchCalls {
  updatingPerEnvMinute: number;
  bakePerEnvMinute: number;
  updatingMinutes: number;
  bakeMinutes: number;
}

export interface PushToUpdate {
  seconds: number;
  /** Seconds in Wait states (WaitForVersion: EB processing the version). */
  waitSeconds: number;
  invocations: number;
  /** ebship's own handler time: each invocation's duration less the stand-in's fixed 1 s per call. */
  handlerSeconds: number;
}

/** serverless.yml: 512 MB for every function but BuildBundle's 1024. */
const MEMORY_GB: Record<string, number> = { BuildBundle: 1 };
const DEFAULT_MEMORY_GB = 0.5;

/** An ebship.yml with `n` ECS targets, each its own application, environment and repository. */
function fleetConfig(n: number, watch: 'events' | 'poll'): string {
  const targets: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const id = `fleet-${String(i).padStart(3, '0')}`;
    targets[id] = {
      application: id,
      environment: `${id}-prod`,
      platform: 'ecs',
      source: { repository: id, tags: 'v*' },
      containers: [
        {
          name: 'web',
          image: '{{image}}',
          memory: 512,
          portMappings: [{ hostPort: 80, containerPort: 8000 }],
        },
      ],
      health: { watch },
    };
  }
  return stringify({ version: 1, targets });
}

/** Handlers build their SDK clients once per process (a warm Lambda): every run reuses one endpoint. */
let port: number | undefined;

export async function runFleet(
  n: number,
  options: {
    scale?: number;
    /** Seconds EB takes to process a version (stand-in default 10). */
    processSeconds?: number;
    /** Instances per environment, and how long each update keeps it Updating (healthy scenario: 1, 240). */
    instances?: number;
    updateSeconds?: number;
    /** Red (Severe) this many seconds after the update completes, then stays Red: a bad release. */
    redAfterSeconds?: number;
    /** The health read: `shared` (the fleet's batched read, the default) or `direct` (each execution polls EB). */
    healthRead?: 'shared' | 'direct';
    /** How the watch wakes: on EB's EventBridge events with a fallback read (default), or every poll. */
    watch?: 'events' | 'poll';
    /** The release crash-loops: Severe while EB keeps Updating until its 600 s command timeout (standin/scenarios/crash-loop.yml). */
    crashLoop?: boolean;
    /** EventBridge loses every event EB sends (a drop-events fault): only the fallback read finds a change. */
    dropEbEvents?: boolean;
  } = {},
): Promise<FleetResult> {
  process.env.EBSHIP_HEALTH_READ = options.healthRead ?? 'shared';
  const scale = options.scale ?? 240;
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ebship-fleet-'));
  const configPath = join(dir, 'ebship.yml');
  writeFileSync(configPath, fleetConfig(n, options.watch ?? 'events'));
  const config = loadConfig(configPath);
  const clock = createClock(scale);
  const uninstall = installClock(clock);
  let resolver: TaskHandlerResolver | undefined;
  const standin = await startStandin({
    port,
    clock,
    ...(options.processSeconds !== undefined ? { eb: { processSeconds: options.processSeconds } } : {}),
    taskHandlers: (definition) => {
      if (!resolver) throw new Error('task handlers are not loaded yet');
      return resolver(definition);
    },
  });
  const { world } = standin;
  const started = performance.now();
  try {
    if (options.dropEbEvents) world.faults.add({ fault: 'drop-events', source: 'aws.elasticbeanstalk' });
    const base = loadScenario(
      options.crashLoop
        ? 'crash-loop'
        : options.redAfterSeconds === undefined
          ? 'healthy'
          : 'red-after-deploy',
    );
    const red = options.redAfterSeconds;
    const healthy = {
      ...base,
      environment: {
        ...base.environment,
        instances: options.instances ?? base.environment.instances,
        onUpdate: base.environment.onUpdate.map((u, i) => ({
          ...u,
          durationSeconds: i === 0 ? (options.updateSeconds ?? u.durationSeconds) : u.durationSeconds,
          ...(i === 0 && red !== undefined
            ? {
                health: [
                  { afterSeconds: 0, color: 'Green' as const },
                  {
                    afterSeconds: red,
                    color: 'Red' as const,
                    causes: ['100.0 % of the requests are failing with HTTP 5xx.'],
                  },
                ],
              }
            : {}),
        })),
      },
    };
    let alertTopicArn = '';
    for (const target of Object.keys(config.targets)) {
      ({ alertTopicArn } = await provision(world, standin.endpoint, config, { ...healthy, target }));
    }
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    pointHandlersAt(standin.endpoint, world.region, configPath, alertTopicArn);
    // EB's own events reach ebEvents only through this rule (infra/events.yml), as in AWS.
    await addEbEventsRule(world, config);
    resolver = await loadRegistry();
    const machineArn = world.sfn.createStateMachine(
      'ebship-local-deploy',
      JSON.stringify(await loadDefinition()),
    );
    const rule = loadEcrRulePattern(config, undefined, world.account);
    world.rules.push({ name: 'EcrPushRule', pattern: rule.pattern, targetArn: machineArn });

    const callsBefore = world.eb.calls.length;
    const arns = Object.values(config.targets).flatMap(
      (t) => world.pushImage({ repository: t.source.repository, tag: 'v2.0.0' }).executionArns,
    );
    const executions = arns.map((arn) => {
      const e = world.sfn.executions.get(arn);
      if (!e) throw new Error(`execution ${arn} was not recorded`);
      return e;
    });
    await Promise.all(executions.map((e) => e.done));

    const calls = world.eb.calls.slice(callsBefore);
    const durations = executions.map((e) => seconds(e.history)).sort((a, b) => a - b);
    const envMinutes = durations.reduce((a, b) => a + b, 0) / 60;
    let transitions = 0;
    let retries = 0;
    let gbSeconds = 0;
    for (const e of executions) {
      const counted = countTransitions(e.history);
      transitions += counted.transitions;
      retries += counted.retries;
      gbSeconds += counted.gbSeconds;
    }
    const first = executions[0];
    const update = calls.find(
      (c) =>
        c.action === 'UpdateEnvironment' &&
        first &&
        c.input.EnvironmentName === `${Object.values(config.targets)[0]?.environment}`,
    );
    const pushToUpdate = first && update ? takeApart(first.history, update.at) : undefined;
    if (process.env.EBSHIP_FLEET_DEBUG)
      for (const e of executions)
        if (e.status !== 'SUCCEEDED') {
          const entered = e.history.filter((h) => h.type === 'TaskStateEntered');
          const rollback = entered.find(
            (h) => (h.stateEnteredEventDetails as { name?: string })?.name === 'RollBack',
          );
          const input = JSON.parse(
            String((rollback?.stateEnteredEventDetails as { input?: string })?.input ?? '{}'),
          );
          // The states it went through and the last error a task raised, for a failure before any rollback.
          const states = entered.map((h) => (h.stateEnteredEventDetails as { name?: string })?.name);
          const failed = e.history.findLast(
            (h) => /Failed|TimedOut/.test(h.type) && h.type !== 'ExecutionFailed',
          );
          console.error(
            e.status,
            e.error,
            JSON.stringify(input.failure ?? input.health ?? {}).slice(0, 600),
            states.slice(-4).join(' > '),
            JSON.stringify(failed ?? {}).slice(0, Number(process.env.EBSHIP_FLEET_DEBUG_CHARS ?? 600)),
            e.history.filter((h) => h.type === 'LambdaFunctionFailed').length,
          );
        }
    if (process.env.EBSHIP_FLEET_ACTIONS) {
      const by: Record<string, [number, number]> = {};
      for (const c of calls) {
        const [made, throttled] = by[c.action] ?? [0, 0];
        by[c.action] = [made + 1, throttled + (c.error === 'Throttling' ? 1 : 0)];
      }
      console.error(JSON.stringify(by));
    }
    if (process.env.EBSHIP_FLEET_TRACE) trace(calls, world.eb.events, executions[0]?.history ?? []);
    const watched = watchCalls(
      calls,
      world.eb.events,
      executions.map((e, i) => ({
        environment: Object.values(config.targets)[i]?.environment ?? '',
        history: e.history,
      })),
    );
    const updates = (env: string) =>
      calls.filter((c) => c.action === 'UpdateEnvironment' && c.input.EnvironmentName === env && !c.error);
    const redToRollback: number[] = [];
    const aborted: FleetResult['aborted'] = [];
    let falseRollbacks = 0;
    for (const t of Object.values(config.targets)) {
      const [deploy, rolledBack] = updates(t.environment);
      const abort = calls.find(
        (c) => c.action === 'AbortEnvironmentUpdate' && c.input.EnvironmentName === t.environment && !c.error,
      );
      // Aborting reverts the environment to its previous version itself (EB's event says so); a
      // rollback that still has to deploy the last good version sends UpdateEnvironment.
      const reverted = world.eb.events
        .find(
          (e) =>
            e.environment === t.environment &&
            abort !== undefined &&
            e.date.getTime() >= abort.at &&
            /reverted to the previous/.test(e.message),
        )
        ?.date.getTime();
      const back = rolledBack?.at ?? reverted;
      if (deploy && abort && back !== undefined)
        aborted.push({
          abortSeconds: (abort.at - deploy.at) / 1000,
          rollbackSeconds: (back - deploy.at) / 1000,
        });
      const wentRed = world.eb.events.find(
        (e) =>
          e.environment === t.environment && /transitioned from \w+ to (Severe|Degraded)/.test(e.message),
      );
      const rollback = updates(t.environment)[1];
      if (rollback && !wentRed) falseRollbacks++;
      if (wentRed && rollback) redToRollback.push((rollback.at - wentRed.date.getTime()) / 1000);
    }
    const outcomes: Record<string, number> = {};
    for (const e of executions) outcomes[e.status] = (outcomes[e.status] ?? 0) + 1;
    return {
      targets: n,
      outcomes,
      ebCalls: calls.length,
      throttled: calls.filter((c) => c.error === 'Throttling').length,
      ebCallsPerEnvMinute: calls.length / envMinutes,
      medianSeconds: durations[Math.floor(durations.length / 2)] ?? 0,
      maxSeconds: durations.at(-1) ?? 0,
      lambdaGbSeconds: gbSeconds,
      transitionsPerExecution: transitions / executions.length,
      retries,
      wallSeconds: (performance.now() - started) / 1000,
      ...(pushToUpdate ? { pushToUpdate } : {}),
      watch: watched,
      falseRollbacks,
      redToRollback,
      aborted,
    };
  } finally {
    await standin.close();
    uninstall();
  }
}

/**
 * The health watch's EB calls per environment-minute, split at EB's "update completed" event: while
 * EB is Updating (UpdateEnvironment → completion) and during the bake (completion → the watch's last
 * look, CheckHealth or CheckHealthAfterWait). A call naming one environment counts for it; a batched call (several names, or the
 * account's events) is shared among the environments watched at that moment.
 */
function watchCalls(
  calls: { action: string; input: Record<string, unknown>; at: number }[],
  events: { environment?: string; message: string; date: Date }[],
  runs: { environment: string; history: HistoryEvent[] }[],
): WatchCalls {
  const reads = new Set([
    'DescribeEnvironments',
    'DescribeEnvironmentHealth',
    'DescribeInstancesHealth',
    'DescribeEvents',
  ]);
  const windows = runs.flatMap(({ environment, history }) => {
    const start = calls.find(
      (c) => c.action === 'UpdateEnvironment' && c.input.EnvironmentName === environment,
    )?.at;
    // The watch's looks: CheckHealth, and CheckHealthAfterWait in the event-driven loop.
    const lastCheck = history.findLast(
      (h) =>
        h.type === 'TaskStateExited' &&
        ['CheckHealth', 'CheckHealthAfterWait'].includes(
          (h.stateExitedEventDetails as { name?: string } | undefined)?.name ?? '',
        ),
    );
    if (start === undefined || !lastCheck) return [];
    const end = lastCheck.timestamp.getTime();
    const completed = events.find(
      (e) =>
        e.environment === environment &&
        e.message === 'Environment update completed successfully.' &&
        e.date.getTime() >= start,
    );
    return [{ environment, start, completed: Math.min(end, completed?.date.getTime() ?? end), end }];
  });
  if (process.env.EBSHIP_FLEET_PHASES) {
    // Quartiles of each phase across the fleet (simulated s): first call → UpdateEnvironment,
    // Updating (→ EB's completion event), and the bake (→ the watch's last look).
    const t0 = calls[0]?.at ?? 0;
    const q = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return [0.25, 0.5, 0.75, 1].map((p) =>
        Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0),
      );
    };
    console.error(
      JSON.stringify({
        toUpdate: q(windows.map((w) => (w.start - t0) / 1000)),
        updating: q(windows.map((w) => (w.completed - w.start) / 1000)),
        bake: q(windows.map((w) => (w.end - w.completed) / 1000)),
      }),
    );
  }
  let updating = 0;
  let bake = 0;
  for (const c of calls) {
    if (!reads.has(c.action)) continue;
    const names = Array.isArray(c.input.EnvironmentNames) ? (c.input.EnvironmentNames as string[]) : [];
    const one =
      typeof c.input.EnvironmentName === 'string'
        ? c.input.EnvironmentName
        : names.length === 1
          ? names[0]
          : undefined;
    const open = windows.filter(
      (w) => c.at >= w.start && c.at <= w.end && (one === undefined || w.environment === one),
    );
    for (const w of open) {
      if (c.at < w.completed) updating += 1 / open.length;
      else bake += 1 / open.length;
    }
  }
  const updatingMinutes = windows.reduce((a, w) => a + (w.completed - w.start), 0) / 60_000;
  const bakeMinutes = windows.reduce((a, w) => a + (w.end - w.completed), 0) / 60_000;
  return {
    updatingPerEnvMinute: updatingMinutes > 0 ? updating / updatingMinutes : 0,
    bakePerEnvMinute: bakeMinutes > 0 ? bake / bakeMinutes : 0,
    updatingMinutes,
    bakeMinutes,
  };
}

/** EBSHIP_FLEET_TRACE=1: the first execution's states and every EB call and event, on one timeline (stderr). */
function trace(
  calls: { action: string; input: Record<string, unknown>; at: number; error?: string }[],
  events: { environment?: string; message: string; date: Date }[],
  history: HistoryEvent[],
): void {
  const t0 = history[0]?.timestamp.getTime() ?? 0;
  const rows: [number, string][] = [
    ...calls.map((c): [number, string] => [c.at, `EB ${c.action}${c.error ? ` (${c.error})` : ''}`]),
    ...events.map((e): [number, string] => [e.date.getTime(), `event ${e.message.slice(0, 70)}`]),
    ...history
      .filter((h) => h.type.endsWith('StateEntered'))
      .map((h): [number, string] => [
        h.timestamp.getTime(),
        `state ${(h.stateEnteredEventDetails as { name?: string } | undefined)?.name}`,
      ]),
  ];
  for (const [at, what] of rows.sort((a, b) => a[0] - b[0]))
    console.error(`${((at - t0) / 1000).toFixed(1).padStart(7)} ${what}`);
}

function takeApart(history: HistoryEvent[], updateAt: number): PushToUpdate {
  const start = history[0]?.timestamp.getTime() ?? updateAt;
  let waitSeconds = 0;
  let invocations = 0;
  let handlerSeconds = 0;
  let waitFrom: number | undefined;
  let invokedAt: number | undefined;
  for (const e of history) {
    const at = e.timestamp.getTime();
    if (at > updateAt) break;
    if (e.type === 'WaitStateEntered') waitFrom = at;
    else if (e.type === 'WaitStateExited' && waitFrom !== undefined) waitSeconds += (at - waitFrom) / 1000;
    else if (e.type === 'LambdaFunctionStarted') invokedAt = at;
    else if (e.type === 'LambdaFunctionSucceeded' && invokedAt !== undefined) {
      invocations++;
      handlerSeconds += Math.max(0, (at - invokedAt - LAMBDA_INVOCATION_MS) / 1000);
    }
  }
  // The call that is UpdateEnvironment's own invocation is still running at updateAt: count it.
  if (invokedAt !== undefined && invokedAt <= updateAt) {
    const last = history.findLast((e) => e.type === 'LambdaFunctionStarted');
    if (last && last.timestamp.getTime() === invokedAt) {
      invocations++;
      handlerSeconds += Math.max(0, (updateAt - invokedAt) / 1000);
    }
  }
  return { seconds: (updateAt - start) / 1000, waitSeconds, invocations, handlerSeconds };
}

function seconds(history: HistoryEvent[]): number {
  const first = history[0];
  const last = history.at(-1);
  if (!first || !last) return 0;
  return (last.timestamp.getTime() - first.timestamp.getTime()) / 1000;
}

/**
 * Transitions as AWS bills them: every state entered, plus every retry of a Task (a retry shows in
 * the history as another LambdaFunctionScheduled inside the same state). GB-s from each invocation's
 * start to its end, at the function's memory size.
 */
export function countTransitions(history: HistoryEvent[]): {
  transitions: number;
  retries: number;
  gbSeconds: number;
} {
  let transitions = 0;
  let retries = 0;
  let gbSeconds = 0;
  let state = '';
  let scheduledInState = 0;
  let startedAt: number | undefined;
  for (const e of history) {
    if (e.type.endsWith('StateEntered')) {
      transitions++;
      state = String((e.stateEnteredEventDetails as { name?: string } | undefined)?.name ?? '');
      scheduledInState = 0;
    } else if (e.type === 'LambdaFunctionScheduled') {
      if (scheduledInState++ > 0) {
        transitions++;
        retries++;
      }
    } else if (e.type === 'LambdaFunctionStarted') {
      startedAt = e.timestamp.getTime();
    } else if (
      (e.type === 'LambdaFunctionSucceeded' || e.type === 'LambdaFunctionFailed') &&
      startedAt !== undefined
    ) {
      gbSeconds += ((e.timestamp.getTime() - startedAt) / 1000) * (MEMORY_GB[state] ?? DEFAULT_MEMORY_GB);
      startedAt = undefined;
    }
  }
  return { transitions, retries, gbSeconds };
}

// `tsx bench/fleet.ts <n> [options as JSON]` prints one FleetResult as JSON: bench/run.ts runs each
// fleet in its own process, since handlers keep the SDK clients (and endpoints) of their first import.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await import('../lib/polyfills.js');
  const result = await runFleet(Number(process.argv[2] ?? 1), JSON.parse(process.argv[3] ?? '{}'));
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
