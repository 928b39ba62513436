import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEventsCommand, ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../lib/config/load.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { DEFAULT_NAMES } from '../../standin/provision.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { type Scenario, scenarioSchema } from '../../standin/scenarios.js';
import type { HistoryEvent } from '../../standin/services/step-functions.js';
import type { World } from '../../standin/world.js';

/**
 * The event-driven health watch (issue 13) on the stand-in, through the real SDK clients: the
 * execution waits in a `lambda:invoke.waitForTaskToken` Task, EB's own EventBridge events ("Health
 * status change", "Elastic Beanstalk resource status change": EB developer guide, "Using Elastic
 * Beanstalk with Amazon EventBridge") reach ebEvents, which calls SendTaskSuccess (Step Functions
 * developer guide, "Wait for a Callback with Task Token"), and the watch reads EB at once. EB's
 * events are best effort, so the Task's timeout is a fallback poll.
 * Times are simulated seconds, read from EB's own event log.
 */

const ENV = { application: 'antenna', environment: 'antenna-prod' };
// One endpoint for the whole file: the handlers' SDK clients are created once per process.
// Picked by the OS (a port derived from the pid could be taken, or fall in the ephemeral range).
const port = await freePort();
/** health.fallbackSeconds when ebship.yml leaves it out (lib/health/wake-interval.ts). */
const FALLBACK_SECONDS = 60;

const GOOD = [{ durationSeconds: 240, result: 'deployed' }];
/** Deployed and Green, then Red 40 s into the bake; the rollback (second update) is healthy. */
const RED = [
  {
    durationSeconds: 240,
    result: 'deployed',
    health: [
      { afterSeconds: 0, color: 'Green' },
      { afterSeconds: 40, color: 'Red', causes: ['100.0 % of the requests are failing with HTTP 5xx.'] },
    ],
  },
  { durationSeconds: 180, result: 'deployed' },
];

interface Watched {
  push: PushOutcome;
  /** EB's own events for the environment, oldest first. */
  events: { at: number; message: string }[];
  world: World;
  executionArn: string;
}

async function deploy(
  onUpdate: unknown[],
  options: {
    faults?: unknown[];
    configPath?: string;
    onReady?: (world: World) => Promise<void>;
    /** While the stand-in runs, before the execution is awaited (it may stop it). */
    during?: (world: World, executionArn: string) => Promise<void>;
    /** Once the execution has ended, while the stand-in still runs. */
    after?: (world: World, executionArn: string) => Promise<void>;
  } = {},
): Promise<Watched> {
  const red = onUpdate === RED;
  const scenario: Scenario = {
    ...scenarioSchema.parse({
      description: 'event-driven health watch',
      pushes: [{ tag: 'v1.3.0', expect: red ? 'FAILED' : 'SUCCEEDED' }],
      environment: { onUpdate },
      faults: options.faults ?? [],
    }),
    name: 'event-watch',
  };
  const configPath = options.configPath ?? 'ebship.yml';
  let world: World | undefined;
  let arn = '';
  let events: Watched['events'] = [];
  const outcome = await runScenario(scenario, {
    config: loadConfig(configPath),
    configPath,
    clock: createClock(240),
    port,
    onReady: async (w) => {
      world = w;
      await options.onReady?.(w);
    },
    follow: async (executionArn) => {
      arn = executionArn;
      if (world && options.during) await options.during(world, executionArn);
      const sfn = new SFNClient({});
      for (;;) {
        const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (status !== 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const { Events = [] } = await new ElasticBeanstalkClient({}).send(
        new DescribeEventsCommand({ EnvironmentName: ENV.environment }),
      );
      events = Events.map((e) => ({ at: e.EventDate?.getTime() ?? 0, message: e.Message ?? '' })).reverse();
      if (world && options.after) await options.after(world, executionArn);
    },
  });
  const push = outcome.pushes[0];
  if (!push || !world) throw new Error('no push ran');
  return { push, events, world, executionArn: arn };
}

/** Simulated seconds from EB first reporting Red to EB starting the rollback's update. */
function redToRollback(events: Watched['events']): number {
  const red = events.find((e) => /transitioned from \w+ to (Severe|Degraded)/.test(e.message));
  if (!red) throw new Error('EB never reported Red');
  const rollback = events.find((e) => e.at >= red.at && e.message === 'Environment update is starting.');
  if (!rollback) throw new Error('no rollback update started after Red');
  return (rollback.at - red.at) / 1000;
}

const entered = (history: HistoryEvent[], state: string) =>
  history.filter(
    (h) =>
      h.type.endsWith('StateEntered') && (h.stateEnteredEventDetails as { name?: string }).name === state,
  ).length;
const count = (history: HistoryEvent[], type: string) => history.filter((h) => h.type === type).length;

/** The environment's WATCH item as the table holds it now. */
const watchItem = (db: DynamoDBDocumentClient) =>
  db.send(
    new GetCommand({
      TableName: DEFAULT_NAMES.tableName,
      Key: { pk: `ENV#${ENV.application}/${ENV.environment}`, sk: 'WATCH' },
      ConsistentRead: true,
    }),
  );

/** EB's read calls, as the health watch makes them. */
const READS = new Set(['DescribeEnvironments', 'DescribeEvents', 'DescribeInstancesHealth']);

/** Each look of the deploy watch (CheckHealth, CheckHealthAfterWait): simulated ms it ran from and to. */
function looksOf(history: HistoryEvent[]): { from: number; to: number }[] {
  const looks: { from: number; to: number }[] = [];
  let from: number | undefined;
  for (const h of history) {
    const name =
      (h.stateEnteredEventDetails as { name?: string } | undefined)?.name ??
      (h.stateExitedEventDetails as { name?: string } | undefined)?.name;
    if (name !== 'CheckHealth' && name !== 'CheckHealthAfterWait') continue;
    if (h.type === 'TaskStateEntered') from = h.timestamp.getTime();
    if (h.type === 'TaskStateExited' && from !== undefined) {
      looks.push({ from, to: h.timestamp.getTime() });
      from = undefined;
    }
  }
  return looks;
}

/** States entered, plus each retry: another scheduling of a Task inside the same state. */
function billedTransitions(history: HistoryEvent[]): number {
  let transitions = 0;
  let scheduled = 0;
  for (const h of history) {
    if (h.type.endsWith('StateEntered')) {
      transitions++;
      scheduled = 0;
    } else if (h.type === 'LambdaFunctionScheduled' || h.type === 'TaskScheduled') {
      if (scheduled++ > 0) transitions++;
    }
  }
  return transitions;
}

/** An ebship.yml like the repository's, with `health.watch` set for the Antenna target (and any other change). */
function configWith(
  watch: 'events' | 'poll',
  edit: (target: Record<string, unknown>) => void = () => {},
): string {
  const doc = parse(readFileSync('ebship.yml', 'utf8'));
  doc.targets['antenna-prod'].health.watch = watch;
  edit(doc.targets['antenna-prod']);
  const dir = mkdtempSync(join(tmpdir(), 'ebship-watch-'));
  writeFileSync(join(dir, 'ebship.yml'), stringify(doc));
  return join(dir, 'ebship.yml');
}

describe('the event-driven health watch', () => {
  it('rolls back within seconds of EB reporting Red, woken by its EventBridge event, not the next poll', async () => {
    const run = await deploy(RED);

    expect(run.push.status).toBe('FAILED');
    expect(run.push.error).toBe('DeploymentRolledBack');
    expect(run.push.finalColor).toBe('Green');
    const delay = redToRollback(run.events);
    // Two Lambda invocations (CheckHealth, RollBack) of 1 s each, plus ebEvents: far below one
    // fallback interval (60 s) and below the poll-only watch's 15 s polls.
    expect(delay).toBeLessThanOrEqual(10);
    // EB's events reached ebEvents through the rule read from infra/events.yml.
    expect(run.world.bus.deliveries.filter((d) => d.rule === 'EbEventsRule').length).toBeGreaterThan(0);
  });

  it('with every EB event lost, the fallback poll still finds Red within one fallback interval (60 s)', async () => {
    const run = await deploy(RED, { faults: [{ fault: 'drop-events', source: 'aws.elasticbeanstalk' }] });

    expect(run.push.error).toBe('DeploymentRolledBack');
    expect(run.push.finalColor).toBe('Green');
    expect(run.push.faults.some((f) => f.fault === 'drop-events')).toBe(true);
    expect(redToRollback(run.events)).toBeLessThanOrEqual(FALLBACK_SECONDS + 2);
    // No event reached ebEvents: the waits ended on their timeout (States.Timeout), the fallback poll.
    expect(run.world.bus.deliveries.filter((d) => d.rule === 'EbEventsRule')).toEqual([]);
    expect(count(run.push.history, 'TaskTimedOut')).toBeGreaterThan(0);
  });

  it('rolls back a release whose health check fails from the start, which the load balancer reports 150 s after the update; the 60 s bake of before called it healthy', async () => {
    // EB's default network load balancer process calls a target unhealthy after 5 failed checks
    // 30 s apart (EB developer guide, "General options for all environments",
    // aws:elasticbeanstalk:environment:process:default: HealthCheckInterval 30 with a network load
    // balancer, UnhealthyThresholdCount 5; 15 s, 75 s in all, with an application one), and enhanced
    // health reports it once it persists across several checks: Red 150 s after the update
    // completed, on an environment without traffic to show failing requests sooner. (Far enough
    // past a 60 s bake that the second deploy's verdict never comes after it, however slow the
    // looks of a loaded machine.)
    const late = [
      {
        durationSeconds: 240,
        result: 'deployed',
        health: [
          { afterSeconds: 0, color: 'Green' },
          {
            afterSeconds: 150,
            color: 'Red',
            causes: ['ELB health is failing or not available for all instances.'],
          },
        ],
      },
      { durationSeconds: 180, result: 'deployed' },
    ];
    const byDefault = await deploy(late, {
      configPath: configWith('events', (t) => {
        delete (t.health as Record<string, unknown>).bakeSeconds;
      }),
    });
    expect(byDefault.push.status).toBe('FAILED');
    expect(byDefault.push.error).toBe('DeploymentRolledBack');
    expect(byDefault.push.finalColor).toBe('Green');
    expect(redToRollback(byDefault.events)).toBeLessThanOrEqual(10);

    const short = await deploy(late, {
      configPath: configWith('events', (t) => {
        (t.health as Record<string, unknown>).bakeSeconds = 60;
      }),
    });
    expect(short.push.status).toBe('SUCCEEDED');
  });

  it('reads EB far less often than the poll-only watch (health.watch: poll) on the same deploy', async () => {
    const events = await deploy(GOOD);
    const poll = await deploy(GOOD, { configPath: configWith('poll') });

    expect(events.push.status).toBe('SUCCEEDED');
    expect(poll.push.status).toBe('SUCCEEDED');
    expect(entered(poll.push.history, 'WaitForHealthEvent')).toBe(0);
    expect(entered(events.push.history, 'WaitForHealthEvent')).toBeGreaterThan(0);
    const reads = (r: Watched) => entered(r.push.history, 'CheckHealth');
    expect(reads(events)).toBeLessThan(reads(poll) / 2);
  });

  it('reads only the environment on a look that finds nothing changed, and its events and every instance on the look that calls it healthy', async () => {
    const run = await deploy(GOOD);

    expect(run.push.status).toBe('SUCCEEDED');
    const looks = looksOf(run.push.history).map((look) =>
      run.world.eb.calls
        .filter((c) => c.at >= look.from && c.at <= look.to && READS.has(c.action))
        .map((c) => c.action),
    );
    const last = looks.at(-1) ?? [];
    // The healthy verdict is taken from a complete read: events since the update, every instance.
    expect(last).toEqual(expect.arrayContaining(['DescribeEvents', 'DescribeInstancesHealth']));
    // Quiet looks while EB updates: one batched DescribeEnvironments, nothing else.
    expect(looks.filter((l) => l.length === 1 && l[0] === 'DescribeEnvironments').length).toBeGreaterThan(0);
    // The instances are read once, for the verdict (DescribeInstancesHealth has no batch form).
    expect(looks.slice(0, -1).flat()).not.toContain('DescribeInstancesHealth');
  });

  it("keeps a lone environment's bake within 2 EB reads per minute: a look a minute, and the complete read at the end", async () => {
    const run = await deploy(GOOD);

    expect(run.push.status).toBe('SUCCEEDED');
    const completed = run.events.find((e) => e.message === 'Environment update completed successfully.');
    if (!completed) throw new Error('EB never logged the update completed');
    const lastLook = looksOf(run.push.history).at(-1);
    if (!lastLook) throw new Error('no look');
    const reads = run.world.eb.calls.filter(
      (c) => c.at >= completed.at && c.at <= lastLook.to && READS.has(c.action),
    );
    const minutes = (lastLook.to - completed.at) / 60_000;
    // The default 300 s bake: the look EB's completion event brings, one a minute after it, and
    // the verdict's three reads (the environment, its events, every instance).
    expect(minutes).toBeGreaterThanOrEqual(5);
    expect(reads.length / minutes).toBeLessThanOrEqual(2);
    expect(reads.filter((c) => c.action === 'DescribeInstancesHealth')).toHaveLength(1);
  });

  it('costs at most 60 billed state transitions for a 10-minute deploy (EB Updating 300 s, then the 300 s bake)', async () => {
    // A target as bench/fleet.ts deploys it: no release phase, migration check or post-deploy checks
    // (its image applies its own migrations).
    const plain = configWith('events', (t) => {
      delete t.release;
      delete t.migrationCheck;
      delete t.checks;
      t.migrations = { appliedBy: 'image' };
    });
    // The fallback reads while EB updates are jittered (48-60 s): whether one lands a few seconds
    // before EB's completion event moves the count by a look (2 transitions) from run to run, 56-58.
    const run = await deploy([{ durationSeconds: 300, result: 'deployed' }], { configPath: plain });

    expect(run.push.status).toBe('SUCCEEDED');
    // Step Functions bills every state entered and every retry ($0.025 per 1,000: eb-facts.md).
    expect(billedTransitions(run.push.history)).toBeLessThanOrEqual(60);
  });

  it('does nothing more for a duplicated or late EB event: one wake per token', async () => {
    // Each event's two copies: what the first did, and what the second then did.
    const calls: Promise<{ first: string; second: string }>[] = [];
    let ebEvents: ((event: unknown) => Promise<unknown>) | undefined;
    let late: { action: string } | undefined;
    const run = await deploy(RED, {
      after: async (world) => {
        // A late copy, after the execution ended, finds no task to wake.
        const last = world.bus.events.filter((e) => e.source === 'aws.elasticbeanstalk').at(-1);
        late = (await ebEvents?.({ ...last, id: 'a-late-event' })) as { action: string };
        await Promise.all(calls);
      },
      onReady: async (world) => {
        // EventBridge and Lambda's asynchronous invocation deliver at least once: every EB event
        // reaches ebEvents twice here (Lambda developer guide, "Asynchronous invocation").
        const set = world.functions.set.bind(world.functions);
        world.functions.set = (arn, fn) => {
          if (!arn.endsWith('ebEvents')) return set(arn, fn);
          ebEvents = fn;
          return set(arn, async (event) => {
            const first = (await fn(event)) as { action: string };
            calls.push(
              fn(event).then((second) => ({
                first: first.action,
                second: (second as { action: string }).action,
              })),
            );
            return first;
          });
        };
      },
    });
    const copies = await Promise.all(calls);
    expect(run.push.error).toBe('DeploymentRolledBack');
    expect(redToRollback(run.events)).toBeLessThanOrEqual(10);
    expect(run.push.updatesApplied).toHaveLength(2);
    expect(run.push.alerts).toHaveLength(1);
    // No event is acted on twice: a second copy does nothing once its first copy woke or noted a
    // watch. Only when the first found no watch (the rollback's update starting before its watch
    // registered) may the second, arriving after the registration, be the one that wakes it.
    expect(copies.map((c) => c.second)).toContain('duplicate');
    expect(copies.filter((c) => c.first !== 'none' && !['duplicate', 'none'].includes(c.second))).toEqual([]);
    expect(['none', 'stale', 'noted']).toContain(late?.action);
  });

  it('survives a lost SendTaskSuccess reply: the wake took effect, the retry is told the task is closed', async () => {
    const run = await deploy(RED, {
      faults: [{ fault: 'reply-lost', service: 'states', operation: 'SendTaskSuccess' }],
    });

    expect(run.push.faults.some((f) => f.operation === 'SendTaskSuccess')).toBe(true);
    expect(run.push.error).toBe('DeploymentRolledBack');
    expect(run.push.finalColor).toBe('Green');
    expect(redToRollback(run.events)).toBeLessThanOrEqual(10);
  });

  it('deletes the WATCH item as soon as the watch takes its verdict, not at the next event or its TTL', async () => {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    let waited: unknown;
    let atVerdict: unknown = 'not read';
    const run = await deploy(GOOD, {
      during: async (world, executionArn) => {
        for (let i = 0; i < 3000 && world.sfn.tokens.open(executionArn).length === 0; i++)
          await new Promise((r) => setTimeout(r, 5));
        waited = (await watchItem(db)).Item;
        // The healthy verdict's next state: the watch is over, the execution is not.
        const execution = world.sfn.executions.get(executionArn);
        for (let i = 0; i < 6000 && execution && entered(execution.history, 'HasMigrationCheck') === 0; i++)
          await new Promise((r) => setTimeout(r, 5));
        atVerdict = (await watchItem(db)).Item;
      },
    });

    expect(run.push.status).toBe('SUCCEEDED');
    expect(waited).toMatchObject({ executionId: run.executionArn, phase: 'deploy' });
    expect(atVerdict).toBeUndefined();
  });

  it('leaves no WATCH item behind when the execution is stopped while it waits for an event', async () => {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    let waiting: unknown;
    let left: unknown = 'not read';
    const run = await deploy(GOOD, {
      during: async (world, executionArn) => {
        for (let i = 0; i < 3000 && world.sfn.tokens.open(executionArn).length === 0; i++)
          await new Promise((r) => setTimeout(r, 5));
        waiting = (await watchItem(db)).Item;
        await new SFNClient({}).send(new StopExecutionCommand({ executionArn }));
        // executionEnded runs on the status change; wait for it.
        for (let i = 0; i < 600 && (await watchItem(db)).Item; i++)
          await new Promise((r) => setTimeout(r, 10));
        left = (await watchItem(db)).Item;
      },
    });

    expect(run.push.status).toBe('ABORTED');
    expect(waiting).toMatchObject({ executionId: run.executionArn, phase: 'deploy' });
    expect(left).toBeUndefined();
  });
});
