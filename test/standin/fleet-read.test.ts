/**
 * The fleet's shared health read (lib/health/fleet-read.ts, fleet-refresh.ts, lib/store/snapshot.ts)
 * through the stand-in, with the real SDK clients: EB's query API and DynamoDB (dynalite, real
 * conditional writes).
 */
import { DescribeEventsCommand, UpdateEnvironmentCommand } from '@aws-sdk/client-elastic-beanstalk';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  budgetedDirectRead,
  FRESH_SECONDS,
  HealthReadThrottled,
  type ReadDeps,
  sharedInstances,
  sharedSnapshot,
  toHealthSnapshot,
} from '../../lib/health/fleet-read.js';
import { claimPollerLease, takeBudget } from '../../lib/store/snapshot.js';
import { createDeployTableCommand } from '../../lib/store/table.js';
import { type Clock, createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import type { EbEnvironmentSpec } from '../../standin/services/elastic-beanstalk.js';
import { clientsFor } from './clients.js';

const TABLE = 'ebship-fleet';
let standin: Standin | undefined;
afterEach(() => standin?.close());

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(seconds: number): void } {
  let now = Date.parse('2026-03-02T10:00:00Z');
  const base = createClock(1, now);
  return {
    ...base,
    now: () => now,
    advance: (s: number) => {
      now += s * 1000;
    },
  };
}

function env(i: number): EbEnvironmentSpec {
  return {
    application: `app-${i}`,
    environment: `app-${i}-prod`,
    versionLabel: 'v1',
    instances: 2,
    platformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.4.0',
    solutionStackName: '64bit Amazon Linux 2023 v4.4.0 running ECS',
    optionSettings: [],
    onUpdate: [{ durationSeconds: 240, result: 'deployed', health: [] }],
  };
}

async function setUp(n: number) {
  const clock = manualClock();
  standin = await startStandin({ clock });
  for (let i = 0; i < n; i++) {
    standin.world.eb.addEnvironment(env(i));
    standin.world.eb.addVersion(`app-${i}`, 'v2');
  }
  const aws = clientsFor(standin.endpoint);
  await aws.dynamo.send(createDeployTableCommand(TABLE));
  const db = DynamoDBDocumentClient.from(aws.dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const deps = (holder: string): ReadDeps => ({
    eb: aws.eb,
    db,
    table: TABLE,
    budget: { rate: 1, burst: 10 },
    now: () => clock.now(),
    holder,
    // Real time: another reader's refresh on this machine ends long before the first wait does.
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  const world = standin.world;
  const ebCalls = () => world.eb.calls.filter((c) => c.action.startsWith('Describe'));
  const update = async (i: number) => {
    await aws.eb.send(new UpdateEnvironmentCommand({ EnvironmentName: `app-${i}-prod`, VersionLabel: 'v2' }));
  };
  return { clock, aws, db, deps, ebCalls, update };
}

const ref = (i: number) => ({ application: `app-${i}`, environment: `app-${i}-prod` });

describe('shared health read: one batched read for the fleet', () => {
  it('serves several executions watching different environments from one DescribeEnvironments and one account-wide DescribeEvents', async () => {
    // Arrange: three environments updating at once (EB API: DescribeEnvironments takes a list of
    // EnvironmentNames; DescribeEvents filters by environment only when asked to).
    const { clock, deps, ebCalls, update } = await setUp(3);
    const since = new Date(clock.now()).toISOString();
    await Promise.all([0, 1, 2].map(update));
    clock.advance(5);
    const before = ebCalls().length;

    // Act: three executions poll at the same moment.
    const snapshots = await Promise.all(
      [0, 1, 2].map((i) => sharedSnapshot(deps(`exec-${i}`), ref(i), since)),
    );

    // Assert
    const calls = ebCalls().slice(before);
    expect(calls.map((c) => c.action).sort()).toEqual(['DescribeEnvironments', 'DescribeEvents']);
    expect(calls.find((c) => c.action === 'DescribeEnvironments')?.input.EnvironmentNames).toHaveLength(3);
    expect(calls.find((c) => c.action === 'DescribeEvents')?.input.EnvironmentName).toBeUndefined();
    for (const [i, s] of snapshots.entries()) {
      expect(s).toMatchObject({ environment: `app-${i}-prod`, status: 'Updating' });
      expect(s?.events.map((e) => e.message)).toContain('Environment update is starting.');
    }
  });

  it('reads EB again only once the snapshot is older than the freshness limit', async () => {
    // Arrange
    const { clock, deps, ebCalls, update } = await setUp(2);
    const since = new Date(clock.now()).toISOString();
    await Promise.all([0, 1].map(update));
    await sharedSnapshot(deps('exec-0'), ref(0), since);
    await sharedSnapshot(deps('exec-1'), ref(1), since);
    const afterFirst = ebCalls().length;

    // Act: a poll within the limit, then one past it.
    clock.advance(FRESH_SECONDS);
    await sharedSnapshot(deps('exec-1'), ref(1), since);
    const withinLimit = ebCalls().length - afterFirst;
    clock.advance(1);
    await sharedSnapshot(deps('exec-0'), ref(0), since);

    // Assert
    expect(withinLimit).toBe(0);
    expect(ebCalls().length - afterFirst).toBe(2);
  });

  it("reads only DescribeEnvironments for a look that needs the environment alone, and the events when asked, keeping each part's own age", async () => {
    // Arrange: one environment updating, its snapshot complete once (environment and events).
    const { clock, deps, ebCalls, update } = await setUp(1);
    const since = new Date(clock.now()).toISOString();
    await update(0);
    const first = await sharedSnapshot(deps('exec-0'), ref(0), since, 'events');
    clock.advance(30);
    const before = ebCalls().length;

    // Act: a quiet look, then a look that needs the events too, a moment later.
    const quiet = await sharedSnapshot(deps('exec-0'), ref(0), since, 'environment');
    const quietCalls = ebCalls()
      .slice(before)
      .map((c) => c.action);
    clock.advance(1);
    const full = await sharedSnapshot(deps('exec-0'), ref(0), since, 'events');

    // Assert: the quiet look kept the earlier events, with their own (older) read time.
    expect(quietCalls).toEqual(['DescribeEnvironments']);
    expect(quiet?.readAt).not.toBe(first?.readAt);
    expect(quiet?.eventsReadAt).toBe(first?.eventsReadAt);
    expect(quiet?.events.map((e) => e.message)).toContain('Environment update is starting.');
    // The events look read DescribeEvents alone: the environment was read a second before.
    expect(
      ebCalls()
        .slice(before + 1)
        .map((c) => c.action),
    ).toEqual(['DescribeEvents']);
    expect(full?.readAt).toBe(quiet?.readAt);
    expect(full?.eventsReadAt).not.toBe(first?.eventsReadAt);
  });

  it('sees an update complete, with the events of the whole update, and reads instances only when asked', async () => {
    // Arrange
    const { clock, deps, ebCalls, update } = await setUp(1);
    const since = new Date(clock.now()).toISOString();
    await update(0);
    await sharedSnapshot(deps('exec-0'), ref(0), since);
    clock.advance(300);

    // Act
    const s = await sharedSnapshot(deps('exec-0'), ref(0), since);
    const look = s && toHealthSnapshot(s, since, clock.now());
    const before = ebCalls().length;
    const instances = await sharedInstances(deps('exec-0'), ref(0));

    // Assert
    expect(look).toMatchObject({ status: 'Ready', versionLabel: 'v2', instances: [] });
    expect(look?.events.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'Environment update is starting.',
        'Environment update completed successfully.',
      ]),
    );
    expect(
      ebCalls()
        .slice(before)
        .map((c) => c.action),
    ).toEqual(['DescribeInstancesHealth']);
    expect(instances.map((i) => [i.versionLabel, i.deploymentStatus])).toEqual([
      ['v2', 'Deployed'],
      ['v2', 'Deployed'],
    ]);
  });
});

describe('shared health read: never a dependency', () => {
  it('gives up on a stale snapshot whose refresher holds the lease but writes nothing, so the execution reads EB itself', async () => {
    // Arrange: a snapshot 30 s old, and a refresher that claimed the lease and died.
    const { clock, db, deps, ebCalls, update } = await setUp(1);
    const since = new Date(clock.now()).toISOString();
    await update(0);
    await sharedSnapshot(deps('exec-0'), ref(0), since);
    clock.advance(30);
    expect(await claimPollerLease(db, TABLE, 'dead-refresher', clock.now(), 600)).toBeDefined();
    const before = ebCalls().length;

    // Act
    const shared = await sharedSnapshot(deps('exec-0'), ref(0), since);
    const direct = await budgetedDirectRead(deps('exec-0'), ref(0), since);

    // Assert: no shared answer, and the direct read is this environment's own calls.
    expect(shared).toBeUndefined();
    expect(direct).toMatchObject({ status: 'Updating' });
    const calls = ebCalls().slice(before);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.input.EnvironmentName === 'app-0-prod')).toBe(true);
  });
});

describe('shared health read: the budget item', () => {
  it('lets exactly the burst through when many executions take at once, then the rate', async () => {
    // Arrange
    const { clock, db } = await setUp(0);
    const budget = { rate: 1, burst: 10 };
    const take = () => takeBudget(db, TABLE, budget, 1, () => clock.now());

    // Act: 25 takers at the same instant (conditional writes on one item in dynalite), then 3 s later.
    const first = await Promise.all(Array.from({ length: 25 }, take));
    clock.advance(3);
    const later = await Promise.all(Array.from({ length: 10 }, take));

    // Assert: never more than burst + rate × time, whatever the contention.
    expect(first.filter(Boolean).length).toBeLessThanOrEqual(10);
    expect(first.filter(Boolean).length).toBeGreaterThan(0);
    expect(later.filter(Boolean).length).toBeLessThanOrEqual(3 + (10 - first.filter(Boolean).length));
  });

  it('sequential takers get exactly the burst, then one a second', async () => {
    // Arrange
    const { clock, db } = await setUp(0);
    const budget = { rate: 1, burst: 10 };
    const take = () => takeBudget(db, TABLE, budget, 1, () => clock.now());

    // Act
    const results: boolean[] = [];
    for (let i = 0; i < 12; i++) results.push(await take());
    clock.advance(2);
    const afterTwoSeconds = [await take(), await take(), await take()];

    // Assert
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(afterTwoSeconds).toEqual([true, true, false]);
  });
});

describe('shared health read: under EB throttle', () => {
  it('reports a throttled batch as throttled (no data), and makes no direct read on top of it', async () => {
    // Arrange: EB's Describe* bucket is empty (the stand-in's throttle: 2/s, burst 15, as EB's).
    const { clock, deps, ebCalls, update } = await setUp(1);
    const since = new Date(clock.now()).toISOString();
    await update(0);
    for (let i = 0; i < 15; i++)
      await deps('x')
        .eb.send(new DescribeEventsCommand({}))
        .catch(() => undefined);
    const before = ebCalls().length;

    // Act
    const error = await sharedSnapshot(deps('exec-0'), ref(0), since).catch((err: Error) => err);

    // Assert
    expect(error).toBeInstanceOf(HealthReadThrottled);
    expect(
      ebCalls()
        .slice(before)
        .every((c) => c.error === 'Throttling'),
    ).toBe(true);
  });
});
