import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { clientsFor, rejection } from './clients.js';

/**
 * The callback pattern (Step Functions developer guide, "Wait for a Callback with Task Token"): a
 * `lambda:invoke.waitForTaskToken` Task hands `$$.Task.Token` to its Lambda and waits, on the
 * simulated clock, until SendTaskSuccess, SendTaskFailure or its TimeoutSeconds (States.Timeout).
 * Errors as the API model names them (botocore stepfunctions 2016-11-23 service-2.json:
 * SendTaskSuccess raises InvalidToken, TaskDoesNotExist, TaskTimedOut, InvalidOutput).
 */

const definition = {
  StartAt: 'WaitForEvent',
  States: {
    WaitForEvent: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:register',
        Payload: { 'token.$': '$$.Task.Token', 'watching.$': '$.environment' },
      },
      TimeoutSecondsPath: '$.timeoutSeconds',
      ResultPath: '$.wake',
      Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timedOut', Next: 'FallbackRead' }],
      Next: 'Woken',
    },
    FallbackRead: { Type: 'Pass', End: true },
    Woken: { Type: 'Succeed' },
  },
};

let standin: Standin | undefined;
afterEach(() => standin?.close());

async function waiting(timeoutSeconds = 60) {
  const payloads: { token: string; watching: string }[] = [];
  standin = await startStandin({
    clock: createClock(600),
    taskHandlers: () => ({
      WaitForEvent: async (input) => {
        payloads.push((input as { Payload: { token: string; watching: string } }).Payload);
        return { registered: true };
      },
    }),
  });
  const aws = clientsFor(standin.endpoint);
  const { stateMachineArn } = await aws.sfn.send(
    new CreateStateMachineCommand({
      name: 'callbacks',
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::123456789012:role/x',
    }),
  );
  const { executionArn = '' } = await aws.sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      input: JSON.stringify({ environment: 'antenna-prod', timeoutSeconds }),
    }),
  );
  for (let i = 0; i < 500 && payloads.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  const token = payloads[0]?.token ?? '';
  return { aws, executionArn, token, payloads };
}

async function finished(aws: ReturnType<typeof clientsFor>, executionArn: string) {
  for (;;) {
    const e = await aws.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (e.status !== 'RUNNING') return e;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Step Functions task tokens', () => {
  it('hands the Lambda a token in its Payload, and SendTaskSuccess ends the wait with its output', async () => {
    const { aws, executionArn, token, payloads } = await waiting();

    expect(payloads[0]?.watching).toBe('antenna-prod');
    expect(token.length).toBeGreaterThan(20);
    await aws.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await aws.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"wokenBy":"event"}' }));
    const done = await finished(aws, executionArn);

    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}').wake).toEqual({ wokenBy: 'event' });
  });

  it('answers TaskTimedOut to a second SendTaskSuccess, InvalidToken to a malformed token, TaskDoesNotExist to an unknown one', async () => {
    const { aws, executionArn, token } = await waiting();
    await aws.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    await finished(aws, executionArn);

    const again = await rejection(
      aws.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    );
    const malformed = await rejection(
      aws.sfn.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })),
    );
    const unknown = await rejection(
      aws.sfn.send(new SendTaskSuccessCommand({ taskToken: `${token.slice(0, -4)}AAAA`, output: '{}' })),
    );
    expect(again.name).toBe('TaskTimedOut');
    expect(malformed.name).toBe('InvalidToken');
    expect(unknown.name).toBe('TaskDoesNotExist');
  });

  it('raises States.Timeout after TimeoutSecondsPath on the simulated clock, and the token is closed', async () => {
    const { aws, executionArn, token } = await waiting(30);
    const done = await finished(aws, executionArn);
    const { events = [] } = await aws.sfn.send(new GetExecutionHistoryCommand({ executionArn }));

    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}').timedOut).toMatchObject({ Error: 'States.Timeout' });
    expect(events.map((e) => e.type)).toContain('TaskTimedOut');
    const timedOut = events.find((e) => e.type === 'TaskTimedOut')?.timestamp?.getTime() ?? 0;
    const entered = events.find((e) => e.type === 'TaskStateEntered')?.timestamp?.getTime() ?? 0;
    // Within the second the Lambda invocation takes (the stand-in dates an event when it records it).
    expect((timedOut - entered) / 1000).toBeGreaterThanOrEqual(28);
    expect((timedOut - entered) / 1000).toBeLessThanOrEqual(31);
    const late = await rejection(
      aws.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    );
    expect(late.name).toBe('TaskTimedOut');
  });

  it('fails the Task with the error SendTaskFailure names', async () => {
    const { aws, executionArn, token } = await waiting();
    await aws.sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'WatchBroken', cause: 'the table is gone' }),
    );
    const done = await finished(aws, executionArn);

    expect(done).toMatchObject({ status: 'FAILED', error: 'WatchBroken' });
  });
});
