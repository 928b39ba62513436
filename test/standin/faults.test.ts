import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  ElasticBeanstalkClient,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, createClock } from '../../standin/clock.js';
import { scenarioSchema } from '../../standin/scenarios.js';
import { type Standin, startStandin } from '../../standin/server.js';
import type { TaskHandler } from '../../standin/services/step-functions.js';
import { clientsFor, rejection } from './clients.js';

/**
 * Faults as data (standin/faults.ts), each through the real SDK clients: what the SDK and the
 * caller see is what they would see from AWS when that fault happens there.
 */

let standin: Standin | undefined;
afterEach(() => standin?.close());

/** A clock the test moves by hand; it starts at the real time so the SDK sees no clock skew. */
function manualClock(): Clock & { advance(seconds: number): void } {
  let now = Date.now();
  return {
    ...createClock(1, now),
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

async function setUp(taskHandlers?: Record<string, TaskHandler>) {
  const clock = manualClock();
  standin = await startStandin({ clock, ...(taskHandlers ? { taskHandlers: () => taskHandlers } : {}) });
  const { world } = standin;
  world.eb.addEnvironment({
    application: 'antenna',
    environment: 'antenna-prod',
    versionLabel: 'v1.0.0-aaaaaaa',
    instances: 1,
    platformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.4.0',
    solutionStackName: '64bit Amazon Linux 2023 v4.4.0 running ECS',
    optionSettings: [],
    onUpdate: [{ durationSeconds: 240, result: 'deployed', health: [] }],
  });
  world.eb.addVersion('antenna', 'v1.1.0-bbbbbbb');
  world.ssm.documents.add('ebship-migration-check');
  return {
    clock,
    world,
    aws: clientsFor(standin.endpoint),
    retrying: clientsFor(standin.endpoint, { maxAttempts: 3 }),
  };
}

const deploy = new UpdateEnvironmentCommand({
  EnvironmentName: 'antenna-prod',
  VersionLabel: 'v1.1.0-bbbbbbb',
});
const describeProd = new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] });

describe('wire faults', () => {
  // The SDK's standard retry mode retries a 5xx (and a reset connection); the retried
  // UpdateEnvironment meets an environment that is already Updating: EB's "Must be Ready" answer.
  it('a 5xx after UpdateEnvironment took effect: the SDK retries into "Must be Ready"', async () => {
    const { world, retrying } = await setUp();
    world.faults.add({ fault: 'error-after', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' });

    const err = await rejection(retrying.eb.send(deploy));
    const env = await retrying.eb.send(describeProd);

    expect(err.name).toBe('InvalidParameterValue');
    expect(err.message).toMatch(/Must be Ready/);
    expect(env.Environments?.[0]).toMatchObject({ Status: 'Updating', VersionLabel: 'v1.1.0-bbbbbbb' });
    expect(world.faults.fired).toMatchObject([
      { fault: 'error-after', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' },
    ]);
    expect(world.eb.calls.filter((c) => c.action === 'UpdateEnvironment')).toHaveLength(2);
  });

  it('a lost reply: the update took effect, the caller sees a reset connection', async () => {
    const { world, aws } = await setUp();
    world.faults.add({ fault: 'reply-lost', service: 'eb', operation: 'UpdateEnvironment' });

    const err = await rejection(aws.eb.send(deploy));
    const env = await aws.eb.send(describeProd);

    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(`${err.name} ${err.message} ${(err as { code?: string }).code ?? ''}`).toMatch(
      /ECONNRESET|socket hang up/,
    );
    expect(env.Environments?.[0]).toMatchObject({ Status: 'Updating', VersionLabel: 'v1.1.0-bbbbbbb' });
    expect(world.faults.fired.map((f) => f.fault)).toEqual(['reply-lost']);
  });

  it('a reply that never comes: the SDK times out, and the update took effect', async () => {
    const { world } = await setUp();
    const eb = new ElasticBeanstalkClient({
      endpoint: standin?.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
      maxAttempts: 1,
      // Newer SDKs only warn on a request timeout unless told to throw.
      requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true },
    });
    world.faults.add({
      fault: 'reply-lost',
      service: 'elasticbeanstalk',
      operation: 'UpdateEnvironment',
      hang: true,
    });

    const err = await rejection(eb.send(deploy));

    expect(err.name).toBe('TimeoutError');
    expect(world.eb.snapshot('antenna-prod')).toMatchObject({
      status: 'Updating',
      versionLabel: 'v1.1.0-bbbbbbb',
    });
  });

  it('a 5xx before the call: EB InternalFailure (HTTP 500) and nothing changed', async () => {
    const { world, aws } = await setUp();
    world.faults.add({ fault: 'error-before', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' });

    const err = await rejection(aws.eb.send(deploy));
    const env = await aws.eb.send(describeProd);

    expect(err.name).toBe('InternalFailure');
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(env.Environments?.[0]).toMatchObject({ Status: 'Ready', VersionLabel: 'v1.0.0-aaaaaaa' });
  });

  it('skips the calls it is told to, then hits only as many as `times`', async () => {
    const { world, aws } = await setUp();
    world.faults.add({
      fault: 'error-before',
      service: 'elasticbeanstalk',
      operation: 'DescribeEnvironments',
      skip: 1,
      times: 2,
    });

    const results = [];
    for (let i = 0; i < 4; i++)
      results.push(
        await aws.eb.send(describeProd).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      );

    expect(results).toEqual(['ok', 'InternalFailure', 'InternalFailure', 'ok']);
    expect(world.faults.fired).toHaveLength(2);
  });

  // Each service's own throttling error: EB "Throttling" (query protocol), SSM "ThrottlingException"
  // (SSM API reference, common errors), S3 503 "SlowDown" (S3 API reference, error codes).
  it("throttles N calls with each service's throttling error", async () => {
    const { world, aws } = await setUp();
    world.faults.add({
      fault: 'throttle',
      service: 'elasticbeanstalk',
      operation: 'DescribeEnvironments',
      times: 2,
    });
    world.faults.add({ fault: 'throttle', service: 'ssm', operation: '*', times: 1 });
    world.faults.add({
      fault: 'throttle',
      service: 's3',
      operation: 'PutObject',
    });
    world.s3.createBucket('bundles');

    const eb1 = await rejection(aws.eb.send(describeProd));
    const eb2 = await rejection(aws.eb.send(describeProd));
    const eb3 = await aws.eb.send(describeProd);
    const ssm = await rejection(
      aws.ssm.send(new SendCommandCommand({ DocumentName: 'ebship-migration-check', InstanceIds: [] })),
    );
    const s3 = await rejection(
      aws.s3.send(new PutObjectCommand({ Bucket: 'bundles', Key: 'a.zip', Body: 'x' })),
    );

    expect([eb1.name, eb1.message, eb1.$metadata?.httpStatusCode]).toEqual([
      'Throttling',
      'Rate exceeded',
      400,
    ]);
    expect(eb2.name).toBe('Throttling');
    expect(eb3.Environments).toHaveLength(1);
    expect([ssm.name, ssm.message]).toEqual(['ThrottlingException', 'Rate exceeded']);
    expect([s3.name, s3.$metadata?.httpStatusCode]).toEqual(['SlowDown', 503]);
    expect(world.s3.get('bundles', 'a.zip')).toBeUndefined();
  });

  it('throttles every call inside a simulated-time window, and none after it', async () => {
    const { clock, world, aws } = await setUp();
    world.faults.add({
      fault: 'throttle',
      service: 'elasticbeanstalk',
      operation: 'DescribeEnvironments',
      fromSeconds: 10,
      forSeconds: 60,
    });
    const call = () =>
      aws.eb.send(describeProd).then(
        () => 'ok',
        (e: Error) => e.name,
      );

    const before = await call();
    clock.advance(20);
    const inside = [await call(), await call(), await call()];
    clock.advance(60);
    const after = await call();

    expect([before, ...inside, after]).toEqual(['ok', 'Throttling', 'Throttling', 'Throttling', 'ok']);
  });
});

describe('SSM terminal statuses', () => {
  async function sendAndPoll(
    fault: Parameters<NonNullable<Standin['world']>['faults']['add']>[0],
    wait: number,
  ) {
    const { clock, world, aws } = await setUp();
    world.ssm.outcome = { exitCode: 0, stdout: 'ok\n', stderr: '', durationSeconds: 20, notFoundCalls: 0 };
    world.faults.add(fault);
    const instanceId = world.eb.instanceIds('antenna-prod')[0] ?? '';
    const sent = await aws.ssm.send(
      new SendCommandCommand({ DocumentName: 'ebship-migration-check', InstanceIds: [instanceId] }),
    );
    const get = () =>
      aws.ssm.send(
        new GetCommandInvocationCommand({ CommandId: sent.Command?.CommandId, InstanceId: instanceId }),
      );
    const first = await get();
    clock.advance(wait);
    return { first, last: await get(), world };
  }

  // GetCommandInvocation StatusDetails texts: SSM API reference (botocore ssm service-2.json).
  it('TimedOut: In Progress, then "Execution Timed Out" with no output', async () => {
    const { first, last, world } = await sendAndPoll(
      { fault: 'ssm-status', status: 'TimedOut', afterSeconds: 30 },
      40,
    );
    expect(first).toMatchObject({ Status: 'InProgress', StatusDetails: 'In Progress', ResponseCode: -1 });
    expect(last).toMatchObject({
      Status: 'TimedOut',
      StatusDetails: 'Execution Timed Out',
      StandardOutputContent: '',
    });
    expect(world.faults.fired).toMatchObject([{ fault: 'ssm-status', service: 'ssm', detail: 'TimedOut' }]);
  });

  it('Undeliverable and Terminated are StatusDetails of a Failed invocation', async () => {
    const a = await sendAndPoll({ fault: 'ssm-status', status: 'Undeliverable', afterSeconds: 5 }, 10);
    expect(a.last).toMatchObject({ Status: 'Failed', StatusDetails: 'Undeliverable', ResponseCode: -1 });
    await standin?.close();
    const b = await sendAndPoll({ fault: 'ssm-status', status: 'Terminated', afterSeconds: 5 }, 10);
    expect(b.last).toMatchObject({ Status: 'Failed', StatusDetails: 'Terminated' });
  });

  it('Pending and Delayed never end on their own; Cancelled ends', async () => {
    const pending = await sendAndPoll({ fault: 'ssm-status', status: 'Pending' }, 3600);
    expect(pending.last).toMatchObject({ Status: 'Pending', StatusDetails: 'Pending' });
    await standin?.close();
    const delayed = await sendAndPoll({ fault: 'ssm-status', status: 'Delayed' }, 3600);
    expect(delayed.last).toMatchObject({ Status: 'Delayed', StatusDetails: 'Delayed' });
    await standin?.close();
    const cancelled = await sendAndPoll({ fault: 'ssm-status', status: 'Cancelled', afterSeconds: 10 }, 20);
    expect(cancelled.last).toMatchObject({ Status: 'Cancelled', StatusDetails: 'Cancelled' });
  });
});

describe('environment faults', () => {
  const events = async (aws: ReturnType<typeof clientsFor>) =>
    (await aws.eb.send(new DescribeEventsCommand({ EnvironmentName: 'antenna-prod' }))).Events ?? [];

  it("health flaps Green → Severe → Green during the bake, with EB's transition events", async () => {
    const { clock, world, aws } = await setUp();
    world.faults.add({
      fault: 'health-flap',
      steps: [
        { afterSeconds: 30, color: 'Red', healthStatus: 'Severe' },
        { afterSeconds: 60, color: 'Green' },
      ],
    });
    await aws.eb.send(deploy);
    clock.advance(240 + 40);
    const red = await aws.eb.send(describeProd);
    clock.advance(30);
    const green = await aws.eb.send(describeProd);

    expect(red.Environments?.[0]).toMatchObject({ Status: 'Ready', Health: 'Red', HealthStatus: 'Severe' });
    expect(green.Environments?.[0]).toMatchObject({ Health: 'Green', HealthStatus: 'Ok' });
    const messages = (await events(aws)).map((e) => e.Message);
    expect(messages).toContain('Environment health has transitioned from Ok to Severe.');
    expect(messages).toContain('Environment health has transitioned from Severe to Ok.');
    expect(world.faults.fired.map((f) => f.fault)).toEqual(['health-flap']);
  });

  it('a deploy from the console: another label is applied mid-watch, under another RequestId', async () => {
    const { clock, world, aws } = await setUp();
    world.faults.add({ fault: 'console-deploy', afterSeconds: 300, versionLabel: 'hotfix-from-console' });
    const ours = await aws.eb.send(deploy);
    clock.advance(301);
    const during = await aws.eb.send(describeProd);
    clock.advance(120);
    const after = await aws.eb.send(describeProd);

    expect(during.Environments?.[0]).toMatchObject({
      Status: 'Updating',
      VersionLabel: 'hotfix-from-console',
    });
    expect(after.Environments?.[0]).toMatchObject({ Status: 'Ready', VersionLabel: 'hotfix-from-console' });
    const starts = (await events(aws)).filter((e) => e.Message === 'Environment update is starting.');
    expect(starts).toHaveLength(2);
    expect(starts.map((e) => e.RequestId)).toContain(ours.$metadata.requestId);
    expect(new Set(starts.map((e) => e.RequestId)).size).toBe(2);
    expect(world.faults.fired).toMatchObject([{ fault: 'console-deploy', detail: 'hotfix-from-console' }]);
  });

  it('the environment is terminated mid-deploy: Terminating, Terminated, then not found', async () => {
    const { clock, world, aws } = await setUp();
    world.faults.add({ fault: 'terminate', afterSeconds: 60 });
    await aws.eb.send(deploy);
    clock.advance(61);
    const terminating = await aws.eb.send(describeProd);
    clock.advance(180);
    const terminated = await aws.eb.send(describeProd);
    const update = await rejection(aws.eb.send(deploy));

    expect(terminating.Environments?.[0]?.Status).toBe('Terminating');
    expect(terminated.Environments?.[0]?.Status).toBe('Terminated');
    expect(update.name).toBe('InvalidParameterValue');
    expect(update.message).toMatch(/No Environment found/);
    expect(world.faults.fired.map((f) => f.fault)).toEqual(['terminate']);
  });
});

describe('Lambda faults in Step Functions', () => {
  const lambda = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
  const definition = (retry: string[]) => ({
    StartAt: 'DeployVersion',
    States: {
      DeployVersion: {
        Type: 'Task',
        Resource: lambda('deploy-version'),
        Retry: [{ ErrorEquals: retry, IntervalSeconds: 1, MaxAttempts: 2 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
        End: true,
      },
      Failed: { Type: 'Fail', Error: 'DeploymentFailed' },
    },
  });

  async function runOnce(
    fault: Parameters<NonNullable<Standin['world']>['faults']['add']>[0],
    retry: string[],
  ) {
    let runs = 0;
    const { world, aws } = await setUp({
      DeployVersion: async () => {
        runs += 1;
        return { updated: true };
      },
    });
    world.faults.add(fault);
    const { stateMachineArn } = await aws.sfn.send(
      new CreateStateMachineCommand({
        name: 'm',
        definition: JSON.stringify(definition(retry)),
        roleArn: 'arn:aws:iam::1:role/r',
      }),
    );
    const { executionArn = '' } = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: '{}' }),
    );
    await world.sfn.executions.get(executionArn)?.done;
    const history = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    return { runs, execution: world.sfn.executions.get(executionArn), history: history.events ?? [], world };
  }

  it('a Lambda.ServiceException after the handler returned: the result is discarded and Retry re-runs it', async () => {
    const { runs, execution, history, world } = await runOnce(
      { fault: 'error-after', service: 'lambda', operation: 'DeployVersion' },
      ['Lambda.ServiceException'],
    );
    expect(runs).toBe(2);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(
      history.find((e) => e.type === 'LambdaFunctionFailed')?.lambdaFunctionFailedEventDetails?.error,
    ).toBe('Lambda.ServiceException');
    expect(world.faults.fired).toMatchObject([
      { fault: 'error-after', service: 'lambda', operation: 'DeployVersion' },
    ]);
  });

  it('Lambda.Unknown, not retried: the handler ran once and the Catch takes over', async () => {
    const { runs, execution } = await runOnce(
      { fault: 'error-after', service: 'lambda', operation: 'DeployVersion', code: 'Lambda.Unknown' },
      ['Lambda.ServiceException'],
    );
    expect(runs).toBe(1);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error).toBe('DeploymentFailed');
  });

  it('an error before the handler: it never runs', async () => {
    const { runs, execution } = await runOnce(
      { fault: 'error-before', service: 'lambda', operation: 'DeployVersion', times: 5 },
      ['Lambda.ServiceException'],
    );
    expect(runs).toBe(0);
    expect(execution?.status).toBe('FAILED');
  });
});

describe('fault declarations', () => {
  it('a scenario declares faults as data; clear() disarms them', async () => {
    const scenario = scenarioSchema.parse({
      description: 'faults',
      pushes: [{ tag: 'v1', expect: 'FAILED' }],
      environment: { onUpdate: [{ durationSeconds: 1, result: 'deployed' }] },
      faults: [
        { fault: 'reply-lost', service: 'elasticbeanstalk', operation: 'UpdateEnvironment' },
        { fault: 'ssm-status', status: 'TimedOut' },
        { fault: 'error-after', service: 'sfn', operation: 'StartExecution' },
      ],
    });
    expect(scenario.faults.map((f) => f.fault)).toEqual(['reply-lost', 'ssm-status', 'error-after']);
    expect(() => scenarioSchema.parse({ ...scenario, faults: [{ fault: 'meteor' }] })).toThrow();

    const { world, aws } = await setUp();
    world.faults.addAll(scenario.faults);
    expect(world.faults.pending()).toHaveLength(3);
    world.faults.clear();
    expect(world.faults.pending()).toHaveLength(0);
    expect((await aws.eb.send(deploy)).Status).toBe('Updating');
  });
});
