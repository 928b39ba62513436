import {
  AbortEnvironmentUpdateCommand,
  DescribeEnvironmentsCommand,
  type EnvironmentStatus,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/abort-update.js';
import { InputInvalid, LockLost } from '../../../lib/errors.js';
import { acquireLock } from '../../../lib/store/deployments.js';
import {
  db,
  ENV,
  EXECUTION,
  lambdaContext,
  mocks,
  OTHER_EXECUTION,
  release,
  TABLE,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('AbortUpdate');

function environment(status: EnvironmentStatus) {
  return {
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: status,
        VersionLabel: 'v9-090909090909',
      },
    ],
  };
}

useFreshTable();

const holdLock = (owner: string, now = new Date()) =>
  acquireLock(db, TABLE, ENV, {
    owner,
    versionLabel: 'v10',
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now,
  });

beforeEach(async () => {
  await holdLock(EXECUTION);
  mocks.eb.reset();
  mocks.eb.on(AbortEnvironmentUpdateCommand).resolves({});
});

describe('abort-update handler', () => {
  it('aborts nothing for an execution that no longer holds the environment', async () => {
    // Arrange: another execution took the lock over.
    await holdLock(OTHER_EXECUTION, new Date(Date.now() + 20_000_000));
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environment('Updating'));

    // Act
    const run = handler({ release: release() }, context);

    // Assert
    await expect(run).rejects.toThrow(LockLost);
    expect(mocks.eb).not.toHaveReceivedCommand(AbortEnvironmentUpdateCommand);
  });

  it('aborts an update that never converged, so the rollback starts from Ready', async () => {
    // Arrange
    mocks.eb.on(DescribeEnvironmentsCommand).resolves(environment('Updating'));

    // Act
    const result = await handler({ release: release() }, context);

    // Assert
    expect(result).toEqual({ aborted: true });
    expect(mocks.eb).toHaveReceivedCommandWith(DescribeEnvironmentsCommand, {
      ApplicationName: 'antenna',
      EnvironmentNames: ['antenna-prod'],
    });
    expect(mocks.eb).toHaveReceivedCommandWith(AbortEnvironmentUpdateCommand, {
      EnvironmentName: 'antenna-prod',
    });
  });

  it.each<EnvironmentStatus>(['Ready', 'Aborting'])(
    'leaves an environment that is %s alone',
    async (status) => {
      // Arrange
      mocks.eb.on(DescribeEnvironmentsCommand).resolves(environment(status));

      // Act
      const result = await handler({ release: release() }, context);

      // Assert
      expect(result).toEqual({ aborted: false });
      expect(mocks.eb).not.toHaveReceivedCommand(AbortEnvironmentUpdateCommand);
    },
  );

  it('rejects a state without a release with InputInvalid, before calling EB', async () => {
    // Act
    const run = handler({ deploy: { toVersion: 'v10-7f5b2640fe6f' } }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "release"');
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });
});
