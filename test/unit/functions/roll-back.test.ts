import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  type EnvironmentStatus,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/roll-back.js';
import { EnvironmentNotReady, InputInvalid, NoGoodVersion } from '../../../lib/errors.js';
import { acquireLock, putLastGood } from '../../../lib/store/deployments.js';
import {
  db,
  ENV,
  EXECUTION,
  LABEL,
  lambdaContext,
  mocks,
  OLD_DIGEST,
  OLD_LABEL,
  OTHER_EXECUTION,
  release,
  TABLE,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('RollBack');
const ROLLBACK_AT = new Date('2026-11-23T10:06:10.000Z');

function environment(status: EnvironmentStatus, versionLabel = LABEL) {
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: status,
        VersionLabel: versionLabel,
      },
    ],
  });
}

function lastGoodIs(versionLabel: string) {
  return putLastGood(db, TABLE, ENV, {
    versionLabel,
    imageDigest: OLD_DIGEST,
    deployedAt: '2026-11-20T08:10:00.000Z',
    executionId: OTHER_EXECUTION,
  });
}

useFreshTable();

beforeEach(async () => {
  // RollBack proves this execution still holds the environment before changing it.
  await acquireLock(db, TABLE, ENV, {
    owner: EXECUTION,
    versionLabel: LABEL,
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now: new Date(),
  });
  mocks.eb.reset();
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  environment('Ready');
  mocks.eb.on(UpdateEnvironmentCommand).resolves({ Status: 'Updating', DateUpdated: ROLLBACK_AT });
});

describe('roll-back handler', () => {
  it('redeploys the last good version', async () => {
    // Arrange
    await lastGoodIs(OLD_LABEL);

    // Act
    const result = await handler({ release: release() }, context);

    // Assert
    expect(mocks.eb).toHaveReceivedCommandTimes(UpdateEnvironmentCommand, 1);
    expect(mocks.eb).toHaveReceivedCommandWith(UpdateEnvironmentCommand, {
      ApplicationName: 'antenna',
      EnvironmentName: 'antenna-prod',
      VersionLabel: OLD_LABEL,
    });
    expect(result).toEqual({
      fromVersion: LABEL,
      toVersion: OLD_LABEL,
      startedAt: ROLLBACK_AT.toISOString(),
      firstPollSeconds: 15,
      maxPolls: 110,
    });
  });

  it('redeploys nothing when EB already reverted to the good version: the watch verifies it', async () => {
    // Arrange: a failed deploy that EB reverted by itself ("The environment was reverted...").
    await lastGoodIs(OLD_LABEL);
    environment('Ready', OLD_LABEL);

    // Act
    const result = await handler({ release: release() }, context);

    // Assert
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    expect(result).toMatchObject({ toVersion: OLD_LABEL, redeployed: false });
  });

  it('fails with NoGoodVersion on a first deploy, telling on-call to restore by hand', async () => {
    // Act
    const run = handler({ release: release() }, context);

    // Assert
    await expect(run).rejects.toThrow(NoGoodVersion);
    await expect(run).rejects.toThrow('antenna-prod has no version known to be good');
    await expect(run).rejects.toThrow('restore antenna-prod by hand');
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
  });

  it('fails with NoGoodVersion when the last good version is the one that just failed', async () => {
    // Arrange: a redeploy of the running version went Red.
    await lastGoodIs(LABEL);

    // Act
    const run = handler({ release: release() }, context);

    // Assert
    await expect(run).rejects.toThrow(NoGoodVersion);
    await expect(run).rejects.toThrow(
      `the last good version of antenna-prod is ${LABEL}, the one that just failed`,
    );
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
  });

  it.each<EnvironmentStatus>(['Updating', 'Aborting'])(
    'waits with EnvironmentNotReady (retried) while the environment is %s',
    async (status) => {
      // Arrange
      await lastGoodIs(OLD_LABEL);
      environment(status);

      // Act
      const run = handler({ release: release() }, context);

      // Assert
      await expect(run).rejects.toThrow(EnvironmentNotReady);
      await expect(run).rejects.toThrow(
        `antenna-prod is ${status} on ${LABEL}; another update is in progress, waiting for Ready before deploying ${OLD_LABEL}`,
      );
      expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
    },
  );

  it('rejects a state without a release with InputInvalid, before touching EB', async () => {
    // Act
    const run = handler({ failure: { Error: 'MigrationsPending' } }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "release"');
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });
});
