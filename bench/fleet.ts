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
import { loadDefinition, loadRegistry, pointHandlersAt } from '../standin/run-scenario.js';
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
function fleetConfig(n: number): string {
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
  } = {},
): Promise<FleetResult> {
  const scale = options.scale ?? 240;
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ebship-fleet-'));
  const configPath = join(dir, 'ebship.yml');
  writeFileSync(configPath, fleetConfig(n));
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
    const base = loadScenario('healthy');
    const healthy = {
      ...base,
      environment: {
        ...base.environment,
        instances: options.instances ?? base.environment.instances,
        onUpdate: base.environment.onUpdate.map((u) => ({
          ...u,
          durationSeconds: options.updateSeconds ?? u.durationSeconds,
        })),
      },
    };
    let alertTopicArn = '';
    for (const target of Object.keys(config.targets)) {
      ({ alertTopicArn } = await provision(world, standin.endpoint, config, { ...healthy, target }));
    }
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    pointHandlersAt(standin.endpoint, world.region, configPath, alertTopicArn);
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
          console.error(e.status, e.error, JSON.stringify(input.failure ?? input.health ?? {}).slice(0, 600));
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
    };
  } finally {
    await standin.close();
    uninstall();
  }
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
