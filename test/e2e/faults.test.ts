import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { getLock, type LockItem, listHistory } from '../../lib/store/deployments.js';
import { createClock } from '../../standin/clock.js';
import { freePort } from '../../standin/ports.js';
import { DEFAULT_NAMES } from '../../standin/provision.js';
import { type PushOutcome, runScenario } from '../../standin/run-scenario.js';
import { type Scenario, scenarioSchema } from '../../standin/scenarios.js';

/**
 * ebship's one promise under the ways AWS really fails: after any push, the environment runs either
 * the new version, verified healthy, or the last good one, and on-call gets exactly one alert that
 * says which. Faults are injected on the stand-in's wire (standin/faults.ts), so the real SDK
 * clients, their retries and the real state machine all meet them:
 * - a reply lost, or a 5xx, AFTER the call took effect (EB applied the update; the SDK retries it);
 * - a 5xx before it (nothing applied);
 * - throttling bursts of 1 to 20 calls (EB: HTTP 400 Throttling "Rate exceeded");
 * - a Lambda error after the handler returned (Step Functions runs the step again).
 * Generated schedules print their fast-check seed on failure; EBSHIP_FAULT_RUNS raises the count
 * for a soak (README, "Fault injection").
 */

const config = loadConfig('ebship.yml');
const ENV = { application: 'antenna', environment: 'antenna-prod' };
// One endpoint for the whole file: the handlers' SDK clients are created once per process.
// Picked by the OS (a port derived from the pid could be taken, or fall in the ephemeral range).
const port = await freePort();
const RUNS = Number(process.env.EBSHIP_FAULT_RUNS ?? 6);

const GOOD = [{ durationSeconds: 240, result: 'deployed' }];
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

interface Run {
  push: PushOutcome;
  lockAtEnd: LockItem | undefined;
  /** The version the push deployed, as EB labels it. */
  newLabel?: string;
}

async function runWith(image: 'good' | 'bad', faults: unknown[], scale = 240): Promise<Run> {
  const scenario: Scenario = {
    ...scenarioSchema.parse({
      description: `fault injection: ${image} image`,
      pushes: [{ tag: 'v1.3.0', expect: image === 'good' ? 'SUCCEEDED' : 'FAILED' }],
      environment: { onUpdate: image === 'good' ? GOOD : RED },
      faults,
    }),
    name: 'faults',
  };
  let lockAtEnd: LockItem | undefined;
  const outcome = await runScenario(scenario, {
    config,
    configPath: 'ebship.yml',
    clock: createClock(scale),
    port,
    // Once the execution has ended, and while the stand-in still runs: who holds the environment?
    follow: async (executionArn) => {
      const sfn = new SFNClient({});
      for (;;) {
        const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (status !== 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
      lockAtEnd = await getLock(db, DEFAULT_NAMES.tableName, ENV);
    },
  });
  const push = outcome.pushes[0];
  if (!push) throw new Error('no push ran');
  const newLabel = push.updatesApplied.find((l) => l.startsWith('v1.3.0-'));
  return { push, lockAtEnd, newLabel };
}

/** Polls `done` every 10 ms, for at most 6 s of real time. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600 && !(await done()); i++) await new Promise((r) => setTimeout(r, 10));
}

async function environmentIs(eb: ElasticBeanstalkClient, status: string): Promise<boolean> {
  const { Environments } = await eb.send(
    new DescribeEnvironmentsCommand({ EnvironmentNames: [ENV.environment] }),
  );
  return Environments?.[0]?.Status === status;
}

/** The execution's one alert was published (its claim in the table says sent). */
async function alertSent(db: DynamoDBDocumentClient, executionArn: string): Promise<boolean> {
  const { Item } = await db.send(
    new GetCommand({ TableName: DEFAULT_NAMES.tableName, Key: { pk: `EXEC#${executionArn}`, sk: 'ALERT' } }),
  );
  return Item?.status === 'sent';
}

/**
 * A good push that someone stops from the console once EB is updating; `then` runs after ebship's
 * executionEnded function has sent its alert, while the stand-in still runs.
 */
async function stopMidDeploy(
  then: (
    aws: { sfn: SFNClient; eb: ElasticBeanstalkClient; db: DynamoDBDocumentClient },
    executionArn: string,
  ) => Promise<void>,
) {
  const scenario: Scenario = {
    ...scenarioSchema.parse({
      description: 'stopped from the console mid-deploy',
      pushes: [{ tag: 'v1.3.0', expect: 'FAILED' }],
      environment: { onUpdate: GOOD },
    }),
    name: 'stopped',
  };
  return runScenario(scenario, {
    config,
    configPath: 'ebship.yml',
    clock: createClock(240),
    port,
    follow: async (executionArn) => {
      const aws = {
        sfn: new SFNClient({}),
        eb: new ElasticBeanstalkClient({}),
        db: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      };
      await until(() => environmentIs(aws.eb, 'Updating'));
      await aws.sfn.send(new StopExecutionCommand({ executionArn, cause: 'stopped by a person' }));
      // EventBridge invokes executionEnded asynchronously: wait for its alert to be sent.
      await until(() => alertSent(aws.db, executionArn));
      await then(aws, executionArn);
    },
  });
}

/** The invariants every run must keep, whatever failed. */
function assertPromiseKept(run: Run, image: 'good' | 'bad'): void {
  const { push, lockAtEnd } = run;
  const alerts = push.alerts.map((a) => a.subject ?? '');
  const context = `faults fired: ${JSON.stringify(push.faults.map((f) => `${f.fault} ${f.service} ${f.operation}`))}; alerts: ${JSON.stringify(alerts)}; EB applied: ${JSON.stringify(push.updatesApplied)}`;
  // Terminal, with exactly one alert.
  expect(['SUCCEEDED', 'FAILED'], context).toContain(push.status);
  expect(alerts, context).toHaveLength(1);
  const alert = alerts[0] ?? '';
  const rollbackFailed = /ROLLBACK FAILED/.test(alert);
  // Never on a version that failed its checks unless the alert says ROLLBACK FAILED.
  const onNew = push.finalVersion?.startsWith('v1.3.0-') ?? false;
  if (image === 'bad' && onNew) expect(rollbackFailed, `bad version left live: ${context}`).toBe(true);
  if (push.status !== 'SUCCEEDED' && onNew) expect(rollbackFailed, context).toBe(true);
  if (push.status === 'SUCCEEDED') expect(onNew, context).toBe(true);
  // FAILED_BEFORE_DEPLOY ("environment unchanged") never follows an update EB applied.
  if (push.error === 'DeploymentFailed') expect(push.updatesApplied, context).toEqual([]);
  // At most one UpdateEnvironment per version label.
  expect(new Set(push.updatesApplied).size, context).toBe(push.updatesApplied.length);
  // The environment is free for the next deploy.
  expect(lockAtEnd, context).toBeUndefined();
}

describe('the safety promise under injected faults (stand-in, real SDK clients)', () => {
  it('a lost UpdateEnvironment reply after EB applied it: a bad version is still rolled back, never "unchanged"', async () => {
    const run = await runWith('bad', [
      { fault: 'reply-lost', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' },
    ]);
    assertPromiseKept(run, 'bad');
    expect(run.push.error).toBe('DeploymentRolledBack');
    expect(run.push.alerts[0]?.subject).toMatch(/ROLLED BACK/);
  });

  it('a 5xx after EB applied the update: the SDK retry meets "Must be Ready", and ebship watches its own update', async () => {
    const run = await runWith('bad', [
      { fault: 'error-after', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' },
    ]);
    assertPromiseKept(run, 'bad');
    expect(run.push.error).toBe('DeploymentRolledBack');
  });

  it('DeployVersion run again after it returned (a Lambda error after the handler): the version is deployed once', async () => {
    const run = await runWith('good', [
      { fault: 'error-after', service: 'lambda', operation: 'DeployVersion', times: 2 },
    ]);
    assertPromiseKept(run, 'good');
    expect(run.push.status).toBe('SUCCEEDED');
    expect(run.push.updatesApplied.filter((l) => l === run.newLabel)).toHaveLength(1);
  });

  it('a burst of 20 throttled health reads never rolls back a healthy deploy', async () => {
    const run = await runWith('good', [
      { fault: 'throttle', service: 'elasticbeanstalk', operation: 'DescribeEnvironmentHealth', times: 20 },
    ]);
    assertPromiseKept(run, 'good');
    expect(run.push.status).toBe('SUCCEEDED');
  });

  it('EB throttling the preflight through 7 CreateAppVersion attempts (21 calls): the deploy waits it out', async () => {
    // A fleet of 200 pushed at once lost 41 deploys here: the step's Retry gave up after 5 retries
    // (docs/benchmarks.md). DescribeConfigurationSettings is the preflight's alone; each attempt's
    // EB client tries it 3 times.
    const run = await runWith('good', [
      {
        fault: 'throttle',
        service: 'elasticbeanstalk',
        operation: 'DescribeConfigurationSettings',
        times: 21,
      },
    ]);
    assertPromiseKept(run, 'good');
    expect(run.push.status).toBe('SUCCEEDED');
    expect(run.push.faults).toHaveLength(21);
    const failed = run.push.history.filter(
      (h) => h.type === 'LambdaFunctionFailed' && JSON.stringify(h).includes('Throttling'),
    );
    expect(failed).toHaveLength(7);
  });

  it("a version look EB throttles past the SDK's attempts is no data: looked at again, the step never fails", async () => {
    // CreateAppVersion's first call reads the region's version count and the label (two
    // DescribeApplicationVersions) before creating it; the next one is the first processing look.
    const run = await runWith('good', [
      {
        fault: 'throttle',
        service: 'elasticbeanstalk',
        operation: 'DescribeApplicationVersions',
        skip: 2,
        times: 3,
      },
    ]);
    assertPromiseKept(run, 'good');
    expect(run.push.status).toBe('SUCCEEDED');
    expect(run.push.faults).toHaveLength(3);
    expect(run.push.history.filter((h) => h.type === 'LambdaFunctionFailed')).toEqual([]);
  });

  it('the alert claim written, then a 5xx (the SDK writes it again): on-call still gets the alert', async () => {
    const run = await runWith('bad', [
      // Notify's PutItem is the table's only PutItem after RecordOutcome's history write.
      { fault: 'error-after', service: 'dynamodb', operation: 'PutItem', skip: 0, times: 8 },
    ]);
    assertPromiseKept(run, 'bad');
  });

  it('SNS failing past the SDK attempts (three 5xx in a row): the state machine publishes again, and on-call gets the alert', async () => {
    // Found by the generated schedules: NotifyOnCall ended without an alert, its Catch taking the
    // error for a missing topic. A bad image, so the alert that must not be lost says ROLLED BACK.
    const run = await runWith('bad', [
      { fault: 'error-before', service: 'sns', operation: '*' },
      { fault: 'error-before', service: 'sns', operation: '*' },
      { fault: 'error-before', service: 'sns', operation: '*' },
    ]);
    assertPromiseKept(run, 'bad');
    expect(run.push.faults.map((f) => `${f.fault} ${f.operation}`)).toEqual(
      Array(3).fill('error-before Publish'),
    );
    expect(run.push.alerts[0]?.subject).toMatch(/ROLLED BACK/);
    const retried = run.push.history.filter(
      (h) => h.type === 'LambdaFunctionFailed' && JSON.stringify(h).includes('AlertDeliveryInterrupted'),
    );
    expect(retried).toHaveLength(1);
  });

  it('NotifyOnCall run again after it published: on-call gets one alert, not two', async () => {
    const run = await runWith('bad', [
      { fault: 'error-after', service: 'lambda', operation: 'NotifyOnCall' },
    ]);
    assertPromiseKept(run, 'bad');
  });

  it('a flap to Severe between two polls during the bake rolls back', async () => {
    const run = await runWith('good', [
      {
        fault: 'health-flap',
        steps: [
          { afterSeconds: 10, color: 'Red', healthStatus: 'Severe' },
          { afterSeconds: 13, color: 'Green', healthStatus: 'Ok' },
        ],
      },
    ]);
    expect(run.push.faults.map((f) => f.fault)).toContain('health-flap');
    expect(run.push.error).toBe('DeploymentRolledBack');
    // Usually the polls miss the 3 s flap and EB's transition event is what rolls back; on a loaded
    // machine a poll can land inside it. Either way it rolls back, and says why (the between-polls
    // judgement itself is pinned down with plain data in test/unit/health/verdict.test.ts).
    expect(run.push.alerts[0]?.message).toMatch(/between two polls|health is Red \(Severe\)/);
    expect(run.lockAtEnd).toBeUndefined();
  });

  it('a deploy from the console during the watch ends it without rolling back over the person', async () => {
    // The update takes 240 s and the bake 60 s more: at 270 s ebship is still watching.
    const run = await runWith('good', [
      { fault: 'console-deploy', afterSeconds: 270, versionLabel: 'hotfix-from-console' },
    ]);
    expect(run.push.error).toBe('DeploymentOverridden');
    expect(run.push.finalVersion).toBe('hotfix-from-console');
    expect(run.push.updatesApplied.every((l) => l.startsWith('v1.3.0-'))).toBe(true);
    expect(run.push.alerts).toHaveLength(1);
    expect(run.push.alerts[0]?.message).toContain('hotfix-from-console');
    expect(run.lockAtEnd).toBeUndefined();
  });

  it('an execution stopped mid-deploy is finalised by ebship: history ABORTED, lock free, one alert saying where EB is', async () => {
    let lockAtEnd: LockItem | undefined;
    let history: { outcome: string }[] = [];
    const outcome = await stopMidDeploy(async ({ db }) => {
      lockAtEnd = await getLock(db, DEFAULT_NAMES.tableName, ENV);
      history = await listHistory(db, DEFAULT_NAMES.tableName, ENV);
    });
    const push = outcome.pushes[0];
    expect(push?.status).toBe('ABORTED');
    expect(lockAtEnd).toBeUndefined();
    expect(history[0]).toMatchObject({ outcome: 'ABORTED' });
    expect(push?.alerts.map((a) => a.subject)).toEqual([
      expect.stringMatching(/^\[ebship\] STOPPED - check the environment: antenna-prod v1\.3\.0-/),
    ]);
    expect(push?.alerts[0]?.message).toMatch(/Now: +Updating/);
    expect(push?.alerts[0]?.attributes?.outcome).toBe('ABORTED');
  });

  it('an execution redriven after it was stopped and finalised changes nothing and alerts nobody again', async () => {
    let redriven: { status?: string; error?: string } = {};
    let updatesAfterRedrive = -1;
    let history: { outcome: string }[] = [];
    const outcome = await stopMidDeploy(async ({ sfn, eb, db }, executionArn) => {
      // Someone redrives it from the console (Step Functions RedriveExecution).
      const before =
        (await eb.send(new DescribeEventsCommand({ EnvironmentName: ENV.environment }))).Events ?? [];
      await sfn.send(new RedriveExecutionCommand({ executionArn }));
      await until(async () => {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        redriven = { status: d.status, error: d.error };
        return d.status !== 'RUNNING';
      });
      const after =
        (await eb.send(new DescribeEventsCommand({ EnvironmentName: ENV.environment }))).Events ?? [];
      updatesAfterRedrive = after
        .slice(0, after.length - before.length)
        .filter((e) => e.Message === 'Environment update is starting.').length;
      history = await listHistory(db, DEFAULT_NAMES.tableName, ENV);
    });
    expect(redriven.status).toBe('FAILED');
    expect(redriven.error).toBe('LockLost');
    expect(updatesAfterRedrive).toBe(0);
    expect(history[0]).toMatchObject({ outcome: 'ABORTED' });
    expect(outcome.pushes[0]?.alerts).toHaveLength(1);
  });

  // Every AWS call the workflow makes, with the fault kinds that apply to it.
  const ebOps = [
    'UpdateEnvironment',
    'DescribeEnvironments',
    'DescribeEnvironmentHealth',
    'DescribeInstancesHealth',
    'DescribeEvents',
    'CreateApplicationVersion',
    'DescribeApplicationVersions',
  ];
  const tasks = [
    'ResolveRelease',
    'AcquireLock',
    'ValidateSecrets',
    'BuildBundle',
    'CreateAppVersion',
    'DeployVersion',
    'CheckHealth',
    'RollBack',
    'RecordOutcome',
    'NotifyOnCall',
  ];
  const fault = fc.oneof(
    fc.record({
      fault: fc.constantFrom('reply-lost', 'error-after', 'error-before'),
      service: fc.constant('elasticbeanstalk'),
      operation: fc.constantFrom(...ebOps),
      skip: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({
      fault: fc.constant('throttle'),
      service: fc.constant('elasticbeanstalk'),
      operation: fc.constantFrom(...ebOps),
      times: fc.integer({ min: 1, max: 20 }),
    }),
    fc.record({
      fault: fc.constantFrom('error-after', 'error-before'),
      service: fc.constant('lambda'),
      operation: fc.constantFrom(...tasks),
    }),
    fc.record({
      fault: fc.constantFrom('error-after', 'error-before', 'throttle'),
      service: fc.constantFrom('dynamodb', 's3', 'ssm'),
      operation: fc.constant('*'),
      skip: fc.integer({ min: 0, max: 10 }),
    }),
    // SNS Publish is at least once: a 5xx after it took effect makes the SDK publish the same alert
    // again, and no client can tell. Faults that leave nothing published are in scope.
    fc.record({
      fault: fc.constantFrom('error-before', 'throttle'),
      service: fc.constant('sns'),
      operation: fc.constant('*'),
      skip: fc.integer({ min: 0, max: 3 }),
    }),
  );

  it.each(['good', 'bad'] as const)(
    'generated fault schedules (%s image): the promise holds after every run',
    async (image) => {
      await fc.assert(
        fc.asyncProperty(fc.array(fault, { minLength: 1, maxLength: 3 }), async (faults) => {
          assertPromiseKept(await runWith(image, faults), image);
        }),
        { numRuns: RUNS, verbose: true },
      );
    },
    600_000,
  );
});
