import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
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
      Comment: 'ebship release antenna-prod v10-efefefefefef',
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
  it('keeps polling while SSM has no answer, then fails as timed out once the release and pull time is spent', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(Object.assign(new Error(''), { name: 'InvocationDoesNotExist' }));
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
