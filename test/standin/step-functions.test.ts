import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { clientsFor, rejection } from './clients.js';

const lambda = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** A small deploy-shaped machine: poll until ready, retry a transient error, catch a fatal one. */
const definition = {
  StartAt: 'Deploy',
  States: {
    Deploy: {
      Type: 'Task',
      Resource: lambda('deploy'),
      ResultPath: '$.deploy',
      Retry: [{ ErrorEquals: ['EnvironmentBusy'], IntervalSeconds: 30, MaxAttempts: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DeployFailed' }],
      Next: 'WaitForHealth',
    },
    WaitForHealth: { Type: 'Wait', SecondsPath: '$.deploy.pollSeconds', Next: 'CheckHealth' },
    CheckHealth: { Type: 'Task', Resource: lambda('check'), ResultPath: '$.health', Next: 'Healthy?' },
    'Healthy?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.health.ready', BooleanEquals: true, Next: 'Deployed' }],
      Default: 'WaitForHealth',
    },
    Deployed: { Type: 'Succeed' },
    DeployFailed: { Type: 'Fail', Error: 'DeploymentFailed', Cause: 'the deploy step failed' },
  },
};

class EnvironmentBusy extends Error {
  override readonly name = 'EnvironmentBusy';
}
class PreflightFailed extends Error {
  override readonly name = 'PreflightFailed';
}

let standin: Standin | undefined;
afterEach(() => standin?.close());

async function setUp(deploy: (input: unknown) => Promise<unknown>) {
  let checks = 0;
  const seen: unknown[] = [];
  standin = await startStandin({
    clock: createClock(6000),
    taskHandlers: () => ({
      Deploy: async (input) => {
        seen.push(input);
        return deploy(input);
      },
      CheckHealth: async () => {
        checks += 1;
        return { ready: checks >= 3 };
      },
    }),
  });
  const aws = clientsFor(standin.endpoint);
  const { stateMachineArn } = await aws.sfn.send(
    new CreateStateMachineCommand({
      name: 'ebship-deploy',
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::123456789012:role/ebship-states',
    }),
  );
  return { aws, stateMachineArn: stateMachineArn ?? '', world: standin.world, seen, checks: () => checks };
}

async function finished(aws: ReturnType<typeof clientsFor>, executionArn: string) {
  for (;;) {
    const e = await aws.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (e.status !== 'RUNNING') return e;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('state machines', () => {
  it('creates, describes and lists a state machine', async () => {
    const { aws, stateMachineArn } = await setUp(async () => ({ pollSeconds: 15 }));
    const described = await aws.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    const listed = await aws.sfn.send(new ListStateMachinesCommand({}));
    expect(described).toMatchObject({ name: 'ebship-deploy', status: 'ACTIVE', type: 'STANDARD' });
    expect(listed.stateMachines?.map((m) => m.stateMachineArn)).toEqual([stateMachineArn]);
  });

  it('raises StateMachineDoesNotExist and ExecutionDoesNotExist', async () => {
    const { aws, stateMachineArn } = await setUp(async () => ({ pollSeconds: 15 }));
    const noMachine = await rejection(
      aws.sfn.send(new StartExecutionCommand({ stateMachineArn: `${stateMachineArn}-x` })),
    );
    const noExecution = await rejection(
      aws.sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${stateMachineArn.replace('stateMachine', 'execution')}:nope`,
        }),
      ),
    );
    expect(noMachine.name).toBe('StateMachineDoesNotExist');
    expect(noExecution.name).toBe('ExecutionDoesNotExist');
  });
});

describe('executions', () => {
  it('runs Task, Wait and Choice states to success and records the history', async () => {
    const { aws, stateMachineArn, seen, checks } = await setUp(async () => ({ pollSeconds: 15 }));

    const { executionArn = '' } = await aws.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: 'antenna-v1-2-0',
        input: '{"target":"antenna-prod"}',
      }),
    );
    const result = await finished(aws, executionArn);
    const history = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));

    expect(result.status).toBe('SUCCEEDED');
    expect(seen).toEqual([{ target: 'antenna-prod' }]);
    expect(checks()).toBe(3);
    const types = history.events?.map((e) => e.type) ?? [];
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(types).toContain('WaitStateEntered');
    expect(types).toContain('ChoiceStateEntered');
    expect(types.filter((t) => t === 'LambdaFunctionSucceeded')).toHaveLength(4);
    const entered = history.events
      ?.filter((e) => e.type === 'TaskStateEntered')
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual(['Deploy', 'CheckHealth', 'CheckHealth', 'CheckHealth']);
    expect(history.events?.[1]?.previousEventId).toBe(1);
  });

  // A Lambda error's Cause is the runtime's JSON {"errorType","errorMessage","trace"} (Step Functions
  // developer guide, "Handling errors in Step Functions workflows").
  it("retries a transient error and reports LambdaFunctionFailed with error and Lambda's JSON cause", async () => {
    let calls = 0;
    const { aws, stateMachineArn } = await setUp(async () => {
      calls += 1;
      if (calls === 1) throw new EnvironmentBusy('deploy 1234 holds the lock on antenna-prod');
      return { pollSeconds: 15 };
    });

    const { executionArn = '' } = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: '{}' }),
    );
    const result = await finished(aws, executionArn);
    const history = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn }));

    expect(result.status).toBe('SUCCEEDED');
    const failed = history.events?.find((e) => e.type === 'LambdaFunctionFailed');
    expect(failed?.lambdaFunctionFailedEventDetails?.error).toBe('EnvironmentBusy');
    const cause = JSON.parse(failed?.lambdaFunctionFailedEventDetails?.cause ?? '{}');
    expect(cause).toMatchObject({
      errorType: 'EnvironmentBusy',
      errorMessage: 'deploy 1234 holds the lock on antenna-prod',
    });
    expect(cause.trace[0]).toBe('EnvironmentBusy: deploy 1234 holds the lock on antenna-prod');
    expect(history.events?.filter((e) => e.type === 'LambdaFunctionScheduled')).toHaveLength(2 + 3);
  });

  it('fails with the Fail state error after a caught error', async () => {
    const { aws, stateMachineArn } = await setUp(async () => {
      throw new PreflightFailed('Dockerrun.aws.json has no essential container');
    });

    const { executionArn = '' } = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: '{}' }),
    );
    const result = await finished(aws, executionArn);
    const newestFirst = await aws.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true }),
    );

    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'DeploymentFailed',
      cause: 'the deploy step failed',
    });
    expect(newestFirst.events?.[0]?.type).toBe('ExecutionFailed');
    expect(newestFirst.events?.map((e) => e.type)).toContain('FailStateEntered');
  });

  it('pages the history', async () => {
    const { aws, stateMachineArn } = await setUp(async () => ({ pollSeconds: 15 }));
    const { executionArn = '' } = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: '{}' }),
    );
    await finished(aws, executionArn);

    const first = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5 }));
    const second = await aws.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 5, nextToken: first.nextToken }),
    );

    expect(first.events?.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
    expect(second.events?.[0]?.id).toBe(6);
  });
});

describe('StartExecution names', () => {
  it('returns the running execution for the same name and input, and refuses a different input', async () => {
    const { aws, stateMachineArn } = await setUp(() => new Promise(() => undefined));
    const first = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: 'push-1', input: '{"a":1}' }),
    );

    const again = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: 'push-1', input: '{"a":1}' }),
    );
    const other = await rejection(
      aws.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'push-1', input: '{"a":2}' })),
    );

    expect(again.executionArn).toBe(first.executionArn);
    expect(other.name).toBe('ExecutionAlreadyExists');
  });

  it.each(['sha256:abc', 'has space', 'a/b', 'x'.repeat(81), 'semi;colon'])(
    'refuses the name %s',
    async (name) => {
      const { aws, stateMachineArn } = await setUp(async () => ({ pollSeconds: 15 }));
      const err = await rejection(
        aws.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{}' })),
      );
      expect(err.name).toBe('InvalidName');
    },
  );

  it('stops a running execution and lists it as ABORTED', async () => {
    const { aws, stateMachineArn } = await setUp(() => new Promise(() => undefined));
    const { executionArn } = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: 'stuck', input: '{}' }),
    );

    await aws.sfn.send(new StopExecutionCommand({ executionArn, error: 'Superseded' }));
    const listed = await aws.sfn.send(new ListExecutionsCommand({ stateMachineArn }));

    expect(listed.executions?.[0]).toMatchObject({ name: 'stuck', status: 'ABORTED' });
  });
});
