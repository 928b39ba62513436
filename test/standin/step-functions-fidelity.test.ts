import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, createClock } from '../../standin/clock.js';
import { loadExecutionEndedRule } from '../../standin/ecr-rule.js';
import { type Standin, startStandin } from '../../standin/server.js';
import type { TaskHandler } from '../../standin/services/step-functions.js';
import { clientsFor, rejection } from './clients.js';

let standin: Standin | undefined;
afterEach(() => standin?.close());

const lambda = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

async function machine(
  definition: unknown,
  handlers: Record<string, TaskHandler>,
  clock: Clock = createClock(100),
) {
  standin = await startStandin({ clock, taskHandlers: () => handlers });
  const aws = clientsFor(standin.endpoint);
  const { stateMachineArn = '' } = await aws.sfn.send(
    new CreateStateMachineCommand({
      name: 'ebship-local-deploy',
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::123456789012:role/r',
    }),
  );
  const start = async (input = '{}') => {
    const { executionArn = '' } = await aws.sfn.send(new StartExecutionCommand({ stateMachineArn, input }));
    return executionArn;
  };
  return { aws, world: standin.world, clock, stateMachineArn, start };
}

class Busy extends Error {
  override readonly name = 'Busy';
}

/** A task that fails `failures` times with Busy, noting the simulated time of each attempt. */
function flaky(failures: number, clock: () => Clock) {
  const attempts: number[] = [];
  const handler: TaskHandler = async () => {
    attempts.push(clock().now());
    if (attempts.length <= failures) throw new Busy('busy');
    return { ok: true };
  };
  const gaps = () => attempts.slice(1).map((t, i) => (t - (attempts[i] ?? 0)) / 1000);
  return { handler, gaps, attempts };
}

describe('Retry', () => {
  // Step Functions developer guide, "Retrying after an error": the wait is IntervalSeconds times
  // BackoffRate per attempt, never more than MaxDelaySeconds.
  it('waits IntervalSeconds, grown by BackoffRate and capped at MaxDelaySeconds (simulated time)', async () => {
    const clock = createClock(50);
    const task = flaky(4, () => clock);
    const { world, start } = await machine(
      {
        StartAt: 'Deploy',
        States: {
          Deploy: {
            Type: 'Task',
            Resource: lambda('deploy'),
            Retry: [
              {
                ErrorEquals: ['Busy'],
                IntervalSeconds: 10,
                BackoffRate: 2,
                MaxAttempts: 5,
                MaxDelaySeconds: 25,
              },
            ],
            End: true,
          },
        },
      },
      { Deploy: task.handler },
      clock,
    );
    const arn = await start();
    await world.sfn.executions.get(arn)?.done;

    const gaps = task.gaps();
    // Each handler invocation costs one simulated second on top of the wait; timers are never early
    // and at most a little late.
    const expected = [10, 20, 25, 25];
    expect(gaps).toHaveLength(4);
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual((expected[i] ?? 0) + 1 - 0.2);
      expect(g).toBeLessThan((expected[i] ?? 0) + 1 + 10);
    });
    expect(world.sfn.executions.get(arn)?.status).toBe('SUCCEEDED');
  });

  it('JitterStrategy FULL waits a random time up to the backed-off interval', async () => {
    const clock = createClock(50);
    const task = flaky(6, () => clock);
    const { world, start } = await machine(
      {
        StartAt: 'Deploy',
        States: {
          Deploy: {
            Type: 'Task',
            Resource: lambda('deploy'),
            Retry: [
              {
                ErrorEquals: ['Busy'],
                IntervalSeconds: 20,
                BackoffRate: 1,
                MaxAttempts: 6,
                JitterStrategy: 'FULL',
              },
            ],
            End: true,
          },
        },
      },
      { Deploy: task.handler },
      clock,
    );
    await world.sfn.executions.get(await start())?.done;

    const gaps = task.gaps();
    expect(gaps).toHaveLength(6);
    for (const g of gaps) expect(g).toBeLessThan(20 + 1 + 10);
    // Without jitter every gap would be 21 s; with FULL jitter (uniform up to 20 s) all six landing
    // above 17 s has a chance of 0.15^6.
    expect(gaps.some((g) => g < 17)).toBe(true);
  });
});

/** ebship's executionEnded function, as a rule target: records what EventBridge invoked it with. */
function endedFunction(world: { functions: Map<string, (event: unknown) => Promise<unknown>> }) {
  const arn = 'arn:aws:lambda:us-east-1:123456789012:function:ebship-local-executionEnded';
  const received: unknown[] = [];
  world.functions.set(arn, async (event) => received.push(event));
  return { received, refs: { 'ExecutionEndedLambdaFunction.Arn': arn } };
}

describe('execution status changes on EventBridge', () => {
  const slow = {
    StartAt: 'Deploy',
    TimeoutSeconds: 600,
    States: {
      Deploy: { Type: 'Task', Resource: lambda('deploy'), Next: 'Watch' },
      Watch: { Type: 'Wait', Seconds: 3600, End: true },
    },
  };

  // Step Functions developer guide, "Automating Step Functions event delivery with EventBridge":
  // "Step Functions Execution Status Change" with detail.status RUNNING, SUCCEEDED, FAILED,
  // TIMED_OUT, ABORTED; infra/events.yml's ExecutionEndedRule sends TIMED_OUT/ABORTED to ebship's
  // executionEnded function (invoked asynchronously, with the event).
  it('an aborted execution reaches ExecutionEndedRule (from infra/events.yml) and on-call', async () => {
    const { aws, world, stateMachineArn, start } = await machine(slow, { Deploy: async () => ({}) });
    const ended = endedFunction(world);
    const rule = loadExecutionEndedRule({ DeployStateMachine: stateMachineArn, ...ended.refs });
    expect(rule).toBeDefined();
    if (rule) world.rules.push(rule);
    const arn = await start();
    await aws.sfn.send(
      new StopExecutionCommand({ executionArn: arn, error: 'Operator', cause: 'stopped by hand' }),
    );
    await world.sfn.executions.get(arn)?.done;
    await new Promise((r) => setTimeout(r, 10));

    const statuses = world.bus.events
      .filter((e) => e['detail-type'] === 'Step Functions Execution Status Change')
      .map((e) => e.detail.status);
    expect(statuses).toEqual(['RUNNING', 'ABORTED']);
    expect(ended.received).toHaveLength(1);
    expect(ended.received[0]).toMatchObject({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { status: 'ABORTED', executionArn: arn },
    });
  });

  it('TimeoutSeconds runs on the simulated clock: TIMED_OUT, ExecutionTimedOut, and the rule fires', async () => {
    const { world, stateMachineArn, start } = await machine(
      slow,
      { Deploy: async () => ({}) },
      createClock(6000),
    );
    const ended = endedFunction(world);
    const rule = loadExecutionEndedRule({ DeployStateMachine: stateMachineArn, ...ended.refs });
    if (rule) world.rules.push(rule);
    const arn = await start();
    await world.sfn.executions.get(arn)?.done;
    await new Promise((r) => setTimeout(r, 10));

    const e = world.sfn.executions.get(arn);
    expect(e?.status).toBe('TIMED_OUT');
    expect(e?.history.at(-1)?.type).toBe('ExecutionTimedOut');
    expect(((e?.stopDate?.getTime() ?? 0) - (e?.startDate.getTime() ?? 0)) / 1000).toBeGreaterThanOrEqual(
      600,
    );
    expect(ended.received[0]).toMatchObject({ detail: { status: 'TIMED_OUT', executionArn: arn } });
  });

  it('a FAILED execution sends FAILED with its error; the alert rule ignores it', async () => {
    const { world, stateMachineArn, start } = await machine(
      { StartAt: 'Deploy', States: { Deploy: { Type: 'Task', Resource: lambda('deploy'), End: true } } },
      {
        Deploy: async () => {
          throw new Busy('still busy');
        },
      },
    );
    const ended = endedFunction(world);
    const rule = loadExecutionEndedRule({ DeployStateMachine: stateMachineArn, ...ended.refs });
    if (rule) world.rules.push(rule);
    const arn = await start();
    await world.sfn.executions.get(arn)?.done;
    await new Promise((r) => setTimeout(r, 10));

    const last = world.bus.events.at(-1);
    expect(last?.detail).toMatchObject({ status: 'FAILED', error: 'Busy', executionArn: arn });
    expect(JSON.parse(String(last?.detail.cause))).toMatchObject({
      errorType: 'Busy',
      errorMessage: 'still busy',
    });
    expect(ended.received).toHaveLength(0);
  });
});

describe('RedriveExecution', () => {
  // Step Functions API reference, RedriveExecution: a failed, aborted or timed-out Standard
  // execution continues from the unsuccessful step with the same input; successful steps are not
  // run again; same ARN; ExecutionNotRedrivable for a running or succeeded one.
  it('resumes a failed execution at the failed state, without re-running the steps before it', async () => {
    let prepared = 0;
    let deploys = 0;
    const { aws, world, start } = await machine(
      {
        StartAt: 'Prepare',
        States: {
          Prepare: { Type: 'Task', Resource: lambda('prepare'), ResultPath: '$.prepared', Next: 'Deploy' },
          Deploy: { Type: 'Task', Resource: lambda('deploy'), ResultPath: '$.deployed', End: true },
        },
      },
      {
        Prepare: async () => {
          prepared += 1;
          return { bundle: 'b-1' };
        },
        Deploy: async (input) => {
          deploys += 1;
          if (deploys === 1) throw new Busy('EB busy');
          return { from: (input as { prepared: { bundle: string } }).prepared.bundle };
        },
      },
    );
    const arn = await start('{"tag":"v1"}');
    await world.sfn.executions.get(arn)?.done;
    const failed = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));

    const redriven = await aws.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    await world.sfn.executions.get(arn)?.done;
    const after = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    const history = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn }));
    const again = await rejection(aws.sfn.send(new RedriveExecutionCommand({ executionArn: arn })));

    expect(failed).toMatchObject({ status: 'FAILED', error: 'Busy', redriveStatus: 'REDRIVABLE' });
    expect(redriven.redriveDate).toBeInstanceOf(Date);
    expect(after).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1, redriveStatus: 'NOT_REDRIVABLE' });
    expect(JSON.parse(after.output ?? '{}')).toEqual({
      tag: 'v1',
      prepared: { bundle: 'b-1' },
      deployed: { from: 'b-1' },
    });
    expect([prepared, deploys]).toEqual([1, 2]);
    const types = history.events?.map((e) => e.type) ?? [];
    expect(types.filter((t) => t === 'ExecutionStarted')).toHaveLength(1);
    expect(types).toContain('ExecutionRedriven');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(again.name).toBe('ExecutionNotRedrivable');
  });

  it('resumes an aborted execution at the state it was stopped in', async () => {
    const { aws, world, start } = await machine(
      {
        StartAt: 'Deploy',
        States: {
          Deploy: { Type: 'Task', Resource: lambda('deploy'), Next: 'Watch' },
          Watch: { Type: 'Wait', Seconds: 60, Next: 'Done' },
          Done: { Type: 'Pass', End: true },
        },
      },
      { Deploy: async () => ({ deployed: true }) },
    );
    const arn = await start();
    for (;;) {
      if (world.sfn.executions.get(arn)?.unfinishedState?.state === 'Watch') break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await aws.sfn.send(new StopExecutionCommand({ executionArn: arn }));
    await world.sfn.executions.get(arn)?.done;
    await aws.sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    await world.sfn.executions.get(arn)?.done;
    const history = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn }));

    expect(world.sfn.executions.get(arn)?.status).toBe('SUCCEEDED');
    const entered = history.events?.flatMap((e) =>
      e.stateEnteredEventDetails ? [e.stateEnteredEventDetails.name] : [],
    );
    expect(entered).toEqual(['Deploy', 'Watch', 'Watch', 'Done']);
  });
});
