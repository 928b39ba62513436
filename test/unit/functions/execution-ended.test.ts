import { DescribeEnvironmentsCommand } from '@aws-sdk/client-elastic-beanstalk';
import { PublishCommand } from '@aws-sdk/client-sns';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/execution-ended.js';
import { InputInvalid } from '../../../lib/errors.js';
import { getApproval, putApproval } from '../../../lib/store/approval.js';
import { acquireLock, getLock, listHistory, recordDeployment } from '../../../lib/store/deployments.js';
import {
  db,
  ENV,
  EXECUTION,
  LABEL,
  lambdaContext,
  mocks,
  OLD_LABEL,
  STARTED,
  TABLE,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('ExecutionEnded');

/** Step Functions' "Execution Status Change" event for the Antenna deploy, as EventBridge delivers it. */
function ended(status: string) {
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: EXECUTION,
      status,
      startDate: Date.parse(STARTED),
      stopDate: Date.parse(STARTED) + 600_000,
      input: JSON.stringify({ target: 'antenna-prod', imageTag: 'v10' }),
    },
  };
}

useFreshTable();

beforeEach(async () => {
  mocks.sns.reset();
  mocks.sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
  mocks.eb.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: 'Updating',
        Health: 'Grey',
        VersionLabel: LABEL,
      },
    ],
  });
  await acquireLock(db, TABLE, ENV, {
    owner: EXECUTION,
    versionLabel: LABEL,
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now: new Date(),
  });
  await recordDeployment(db, TABLE, {
    ...ENV,
    target: 'antenna-prod',
    executionId: EXECUTION,
    trigger: 'manual',
    fromVersion: OLD_LABEL,
    toVersion: LABEL,
    outcome: 'RUNNING',
    startedAt: STARTED,
  });
});

describe('execution-ended handler', () => {
  it.each(['ABORTED', 'TIMED_OUT'] as const)(
    'finalises a %s execution: history, lock, and one alert saying where the environment is',
    async (status) => {
      // Act
      const done = await handler(ended(status), context);

      // Assert
      expect(done).toMatchObject({ released: ['antenna-prod'], finalised: ['antenna-prod'], alerted: true });
      expect(await getLock(db, TABLE, ENV)).toBeUndefined();
      expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
        outcome: status,
        executionId: EXECUTION,
      });
      expect(mocks.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
      const publish = mocks.sns.commandCalls(PublishCommand)[0]?.args[0].input;
      expect(publish?.Subject).toMatch(
        /^\[ebship\] (STOPPED|TIMED OUT) - check the environment: antenna-prod/,
      );
      expect(publish?.Subject?.length).toBeLessThan(100);
      expect(publish?.Message).toContain(`Now:        Updating Grey on ${LABEL}`);
      expect(publish?.Message).toContain('ebship rollback antenna-prod --follow');
      expect(publish?.MessageAttributes?.outcome?.StringValue).toBe(status);
      expect(publish?.MessageAttributes?.environment?.StringValue).toBe('antenna-prod');
    },
  );

  it('clears the approval request of a promotion stopped while it waited, and no other', async () => {
    const request = {
      target: 'antenna-prod',
      executionId: EXECUTION,
      taskToken: 'token-never-shown',
      versionLabel: LABEL,
      imageDigest: `sha256:${'ab'.repeat(32)}`,
      startedAt: STARTED,
      requestedAt: STARTED,
      // Live: an item past its expiry counts as absent whatever this handler does.
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
      timeoutSeconds: 3600,
    };
    await putApproval(db, TABLE, ENV, request, undefined);

    await handler(ended('ABORTED'), context);

    expect(await getApproval(db, TABLE, ENV)).toBeUndefined();
    await putApproval(
      db,
      TABLE,
      ENV,
      { ...request, executionId: 'another' } as Parameters<typeof putApproval>[3],
      undefined,
    );
    await handler(ended('TIMED_OUT'), context);
    expect(await getApproval(db, TABLE, ENV)).toMatchObject({ executionId: 'another' });
  });

  it('alerts once, however often EventBridge delivers the event', async () => {
    await handler(ended('ABORTED'), context);
    const again = await handler(ended('ABORTED'), context);

    expect(again.alerted).toBe(false);
    expect(mocks.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('leaves executions that ended through the workflow alone (they alerted themselves)', async () => {
    const done = await handler(ended('SUCCEEDED'), context);

    expect(done).toMatchObject({ released: [], alerted: false });
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(EXECUTION);
    expect(mocks.sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('rejects anything but a Step Functions status change with InputInvalid', async () => {
    await expect(handler({ source: 'aws.ecr' }, context)).rejects.toThrow(InputInvalid);
  });
});
