import {
  AbortEnvironmentUpdateCommand,
  DescribeEnvironmentsCommand,
  type EnvironmentStatus,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/abort-update.js';
import { InputInvalid } from '../../../lib/errors.js';
import { lambdaContext, mocks, release } from './fixtures.js';

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

beforeEach(() => {
  mocks.eb.reset();
  mocks.eb.on(AbortEnvironmentUpdateCommand).resolves({});
});

describe('abort-update handler', () => {
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
