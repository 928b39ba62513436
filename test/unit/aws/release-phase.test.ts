import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { pollChecks, startChecks } from '../../../lib/aws/post-deploy-checks.js';
import { pollReleasePhase, type ReleaseContext, startReleasePhase } from '../../../lib/aws/release-phase.js';
import { CheckFailed, ReleaseFailed, ReleaseNotRun } from '../../../lib/errors.js';
import type { InstanceSnapshot } from '../../../lib/health/verdict.js';

const client = new SSMClient({ region: 'us-east-1' });
const ssmMock = mockClient(SSMClient);
const DIGEST = `sha256:${'ef'.repeat(32)}`;
const healthy = (id: string, versionLabel = 'v9'): InstanceSnapshot => ({
  id,
  color: 'Green',
  healthStatus: 'Ok',
  versionLabel,
  deploymentStatus: 'Deployed',
  causes: [],
});
const ctx = (over: Partial<ReleaseContext['phase']> = {}, digest = DIGEST): ReleaseContext => ({
  environment: 'antenna-prod',
  versionLabel: 'v10-efefefefefef',
  imageDigest: digest,
  imageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/antenna-backend@${digest}`,
  document: 'ebship-prod-release-antenna-prod',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship-prod-deploy:run-1',
  phase: {
    container: 'django',
    command: ['python', 'manage.py', 'migrate', '--noinput'],
    timeoutSeconds: 600,
    onEmptyEnvironment: 'fail',
    ...over,
  },
});

beforeEach(() => {
  ssmMock.reset();
  ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
});

describe('the release phase command', () => {
  it('sends the target document to one healthy instance with the digest as its only parameter: no argv, no event text', async () => {
    await startReleasePhase(
      client,
      [{ ...healthy('i-2'), color: 'Red', healthStatus: 'Severe' }, healthy('i-1')],
      ctx(),
    );

    const calls = ssmMock.commandCalls(SendCommandCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      DocumentName: 'ebship-prod-release-antenna-prod',
      InstanceIds: ['i-1'],
      TimeoutSeconds: 900,
      Comment: expect.stringMatching(/^ebship release antenna-prod v10-efefefefefef #[0-9a-f]{16}$/),
      Parameters: { imageDigest: [DIGEST] },
    });
  });

  it('refuses anything but a digest before calling SSM', async () => {
    await expect(startReleasePhase(client, [healthy('i-1')], ctx({}, 'sha256:$(reboot)'))).rejects.toThrow(
      ReleaseNotRun,
    );
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('with no healthy instance, fails with the fix, or is skipped with a note (onEmptyEnvironment)', async () => {
    await expect(startReleasePhase(client, [], ctx())).rejects.toThrow(/onEmptyEnvironment: skip/);
    const skipped = await startReleasePhase(client, [], ctx({ onEmptyEnvironment: 'skip' }));

    expect(skipped).toMatchObject({ status: 'skipped' });
    expect(skipped.note).toContain('it has no instances');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('reads a failed release as ReleaseFailed with its own exit code and masked output', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 3,
      StandardOutputContent: 'DATABASE_PASSWORD=hunter2',
      StandardErrorContent: 'ebship-release-exit=2',
    });

    const err = await pollReleasePhase(
      client,
      { status: 'pending', commandId: 'cmd-1', instanceId: 'i-1', polls: 0, nextPollSeconds: 5 },
      ctx(),
    ).catch((e: Error) => e);

    expect(err).toBeInstanceOf(ReleaseFailed);
    expect((err as Error).message).toContain('exited 2');
    expect((err as Error).message).not.toContain('hunter2');
  });
});

describe('the release phase poll budget', () => {
  it('keeps polling while the release runs, then fails as timed out once the release and pull time is spent', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const start = { status: 'pending' as const, commandId: 'cmd-1', instanceId: 'i-1', nextPollSeconds: 5 };
    // (600 s + 300 s to pull) / 5 s + 10 polls for SSM to register the command.
    const last = await pollReleasePhase(client, { ...start, polls: 189 }, ctx());

    expect(last).toMatchObject({ status: 'pending', polls: 190 });
    await expect(pollReleasePhase(client, last, ctx())).rejects.toThrow(/did not finish within 900s/);
  });
});

describe('post-deploy checks', () => {
  const checks = [
    {
      name: 'worker',
      container: 'celeryworker',
      command: ['celery', 'inspect', 'ping'],
      timeoutSeconds: 60,
      on: 'all' as const,
      onFailure: 'rollback' as const,
    },
    {
      name: 'beat',
      container: 'celerybeat',
      command: ['true'],
      timeoutSeconds: 30,
      on: 'one' as const,
      onFailure: 'warn' as const,
    },
  ];
  const checksCtx = {
    environment: 'antenna-prod',
    versionLabel: 'v10',
    checks,
    documentOf: (c: { name: string }) => `ebship-prod-check-antenna-prod-${c.name}`,
  };

  it('send each check, without parameters, to all or one healthy instance of the new version', async () => {
    await startChecks(
      client,
      [healthy('i-1', 'v10'), healthy('i-2', 'v10'), healthy('i-3', 'v9')],
      checksCtx,
    );

    expect(
      ssmMock
        .commandCalls(SendCommandCommand)
        .map((c) => [c.args[0].input.DocumentName, c.args[0].input.InstanceIds, c.args[0].input.Parameters]),
    ).toEqual([
      ['ebship-prod-check-antenna-prod-worker', ['i-1', 'i-2'], undefined],
      ['ebship-prod-check-antenna-prod-beat', ['i-1'], undefined],
    ]);
  });

  it('a rollback check failing on one instance of all is CheckFailed naming the check and the instance', async () => {
    const [worker] = checks;
    if (!worker) throw new Error('fixture');
    const only = { ...checksCtx, checks: [worker] };
    ssmMock
      .on(GetCommandInvocationCommand, { InstanceId: 'i-2' })
      .resolves({ Status: 'Failed', ResponseCode: 3, StandardErrorContent: 'ebship-check-exit=69' });
    ssmMock
      .on(GetCommandInvocationCommand, { InstanceId: 'i-1' })
      .resolves({ Status: 'Success', ResponseCode: 0 });
    const started = await startChecks(client, [healthy('i-1', 'v10'), healthy('i-2', 'v10')], only);

    const err = await pollChecks(client, started, only).catch((e: Error) => e);

    expect(err).toBeInstanceOf(CheckFailed);
    expect((err as Error).message).toMatch(/check "worker".*failed \(exit 69\) on i-2/);
  });

  it('a warn check failing becomes a warning, and the checks end passed', async () => {
    const [, beat] = checks;
    if (!beat) throw new Error('fixture');
    const only = { ...checksCtx, checks: [beat] };
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', ResponseCode: 3, StandardErrorContent: 'ebship-check-exit=1' });
    const started = await startChecks(client, [healthy('i-1', 'v10')], only);

    const done = await pollChecks(client, started, only);

    expect(done.status).toBe('passed');
    expect(done.warnings).toEqual([expect.stringContaining('warning only (onFailure: warn): check "beat"')]);
  });
});

/**
 * SendCommand has no idempotency token (botocore's ssm service-2.json: SendCommandRequest has no
 * ClientToken), so a resend is a second run. The release's command carries a comment keyed on the
 * execution and digest, and ListCommands finds it before anything is sent again.
 */
describe('the release phase under lost replies', () => {
  const lost = () => Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
  const noWait = async () => undefined;
  const sentComment = () => String(ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Comment);

  it('a lost SendCommand reply: the command SSM lists under its comment is polled, not sent again', async () => {
    ssmMock.on(SendCommandCommand).rejects(lost());
    ssmMock
      .on(ListCommandsCommand)
      .resolvesOnce({ Commands: [] })
      .callsFake(() => ({
        Commands: [{ CommandId: 'cmd-lost', Comment: sentComment(), InstanceIds: ['i-1'] }],
      }));

    const out = await startReleasePhase(client, [healthy('i-1')], ctx(), noWait);

    expect(out).toMatchObject({ status: 'pending', commandId: 'cmd-lost', instanceId: 'i-1' });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('the step run again after it sent (a Lambda error, a redrive): it finds its command and sends nothing', async () => {
    await startReleasePhase(client, [healthy('i-1')], ctx());
    const comment = sentComment();
    ssmMock.on(ListCommandsCommand).resolves({
      Commands: [
        { CommandId: 'other-execution', Comment: 'ebship release antenna-prod v10 #0000000000000000' },
        { CommandId: 'cmd-1', Comment: comment, InstanceIds: ['i-1'] },
      ],
    });

    const again = await startReleasePhase(client, [healthy('i-2')], ctx());

    expect(again).toMatchObject({ commandId: 'cmd-1', instanceId: 'i-1' });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandsCommand, {
      Filters: [{ key: 'DocumentName', value: 'ebship-prod-release-antenna-prod' }],
    });
  });

  it('another execution of the same digest gets its own command (its own comment)', async () => {
    await startReleasePhase(client, [healthy('i-1')], ctx());
    await startReleasePhase(client, [healthy('i-1')], {
      ...ctx(),
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship-prod-deploy:run-2',
    });

    const comments = ssmMock.commandCalls(SendCommandCommand).map((c) => c.args[0].input.Comment);
    expect(comments).toHaveLength(2);
    expect(comments[0]).not.toBe(comments[1]);
  });

  it('still not listed after the lost reply: SSM never took it, so it is sent once more, not more', async () => {
    ssmMock.on(SendCommandCommand).rejects(lost());

    const err = await startReleasePhase(client, [healthy('i-1')], ctx(), noWait).catch((e: Error) => e);

    expect(err).toBeInstanceOf(ReleaseNotRun);
    expect((err as Error).message).toMatch(/could not be sent.*was not changed/);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(2);
  });

  it('an instance-level refusal is no lost reply: reported with its fix, never looked up or resent', async () => {
    ssmMock
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('not managed'), { name: 'InvalidInstanceId' }));

    await expect(startReleasePhase(client, [healthy('i-1')], ctx())).rejects.toThrow(/not SSM-managed/);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(ssmMock.commandCalls(ListCommandsCommand)).toHaveLength(1);
  });
});

describe('reading the release result', () => {
  const start = {
    status: 'pending' as const,
    commandId: 'cmd-1',
    instanceId: 'i-1',
    polls: 0,
    nextPollSeconds: 5,
  };
  const awsError = (name: string, status: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  // GetCommandInvocation: "InvocationDoesNotExist" until SSM registers the command (SSM API reference).
  it('InvocationDoesNotExist right after SendCommand, then a throttled and a 5xx read: no verdict, then the exit decides', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('InvocationDoesNotExist', 400))
      .rejectsOnce(awsError('ThrottlingException', 400))
      .rejectsOnce(awsError('InternalServerError', 500))
      .resolves({
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: 'Applying stations.0003... OK',
      });

    let state = await pollReleasePhase(client, start, ctx());
    state = await pollReleasePhase(client, state, ctx());
    state = await pollReleasePhase(client, state, ctx());
    expect(state).toMatchObject({ status: 'pending', polls: 3 });
    const done = await pollReleasePhase(client, state, ctx());

    expect(done).toMatchObject({ status: 'passed', polls: 4 });
  });

  it('reads that keep failing until the deadline: "could not read", never "failed" or "timed out"', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(awsError('ThrottlingException', 400));

    const err = await pollReleasePhase(client, { ...start, polls: 190 }, ctx()).catch((e: Error) => e);

    expect((err as Error).message).toMatch(
      /could not read the result.*ThrottlingException.*may still be running/,
    );
  });

  it('never registered by the deadline: asks whether the instance is SSM-managed', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(awsError('InvocationDoesNotExist', 400));

    await expect(pollReleasePhase(client, { ...start, polls: 190 }, ctx())).rejects.toThrow(
      /never registered.*SSM-managed/,
    );
  });
});
