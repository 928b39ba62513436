import { DescribeEnvironmentsCommand, UpdateEnvironmentCommand } from '@aws-sdk/client-elastic-beanstalk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/deploy-version.js';
import { DeployNotStarted, EnvironmentNotReady, InputInvalid } from '../../../lib/errors.js';
import { listHistory } from '../../../lib/store/deployments.js';
import {
  awsError,
  db,
  ENV,
  EXECUTION,
  IMAGE_URI,
  LABEL,
  lambdaContext,
  mocks,
  OLD_LABEL,
  release,
  STARTED,
  stateBeforeDeploy,
  TABLE,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('DeployVersion');
const UPDATED_AT = new Date('2026-11-23T10:00:41.000Z');

useFreshTable();

afterEach(() => {
  process.env.TABLE_NAME = TABLE;
});

beforeEach(() => {
  mocks.eb.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: 'Ready',
        VersionLabel: OLD_LABEL,
      },
    ],
  });
  mocks.eb.on(UpdateEnvironmentCommand).resolves({
    EnvironmentName: 'antenna-prod',
    Status: 'Updating',
    VersionLabel: OLD_LABEL,
    DateUpdated: UPDATED_AT,
  });
});

describe('deploy-version handler', () => {
  it('points the environment at the new version and says what it ran before', async () => {
    // Act
    const result = await handler(stateBeforeDeploy(), context);

    // Assert
    expect(mocks.eb).toHaveReceivedCommandWith(UpdateEnvironmentCommand, {
      ApplicationName: 'antenna',
      EnvironmentName: 'antenna-prod',
      VersionLabel: LABEL,
    });
    expect(result).toEqual({
      fromVersion: OLD_LABEL,
      toVersion: LABEL,
      startedAt: UPDATED_AT.toISOString(),
      // antenna-prod sets no pollSeconds: the default.
      firstPollSeconds: 15,
    });
  });

  it('writes a RUNNING history item, so `ebship history` shows the deploy in progress', async () => {
    // Act
    await handler(stateBeforeDeploy(), context);

    // Assert
    expect(await listHistory(db, TABLE, ENV)).toEqual([
      {
        target: 'antenna-prod',
        application: 'antenna',
        environment: 'antenna-prod',
        executionId: EXECUTION,
        trigger: 'push',
        fromVersion: OLD_LABEL,
        toVersion: LABEL,
        imageUri: IMAGE_URI,
        outcome: 'RUNNING',
        startedAt: STARTED,
      },
    ]);
  });

  it('deploys an existing version straight from the lock (a rollback by hand)', async () => {
    // Arrange: IsSkipped sends existing versions past secrets, bundle and version creation.
    const state = {
      release: release({ versionLabel: 'v8-080808080808', trigger: 'rollback', existingVersion: true }),
      lock: stateBeforeDeploy().lock,
    };

    // Act
    const result = await handler(state, context);

    // Assert
    expect(mocks.eb).toHaveReceivedCommandWith(UpdateEnvironmentCommand, { VersionLabel: 'v8-080808080808' });
    expect(result.toVersion).toBe('v8-080808080808');
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ trigger: 'rollback', outcome: 'RUNNING' });
  });

  it('turns "Must be Ready" into EnvironmentNotReady (retried), with the deployment recorded as waiting to run', async () => {
    // Arrange: an update started outside ebship is still running.
    mocks.eb
      .on(UpdateEnvironmentCommand)
      .rejects(
        awsError(
          'InvalidParameterValue',
          'Environment named antenna-prod is in an invalid state for this operation. Must be Ready.',
        ),
      );

    // Act
    const run = handler(stateBeforeDeploy(), context);

    // Assert
    await expect(run).rejects.toThrow(EnvironmentNotReady);
    await expect(run).rejects.toHaveProperty('name', 'EnvironmentNotReady');
    // Recorded before EB is asked, so nothing can fail after EB accepts; the outcome replaces it.
    expect(await listHistory(db, TABLE, ENV)).toEqual([expect.objectContaining({ outcome: 'RUNNING' })]);
  });

  it('never fails once EB has accepted the update', async () => {
    // Arrange: the history write fails (here: the table is gone).
    process.env.TABLE_NAME = 'ebship-no-such-table';

    // Act
    const outcome = await handler(stateBeforeDeploy(), context).then(
      () => 'resolved',
      (err: Error) => `failed with ${err.name}`,
    );

    // Assert
    const updated = mocks.eb.commandCalls(UpdateEnvironmentCommand).length > 0;
    expect(
      outcome === 'resolved' || !updated,
      `DeployVersion ${outcome} after UpdateEnvironment was sent`,
    ).toBe(true);
  });

  it('rejects a release missing its version label with InputInvalid naming it', async () => {
    // Arrange
    const { versionLabel: _dropped, ...incomplete } = release();

    // Act
    const run = handler({ ...stateBeforeDeploy(), release: incomplete }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('release.versionLabel');
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });

  it('reports an update EB refused as DeployNotStarted: the environment was not changed', async () => {
    // Arrange
    mocks.eb.on(UpdateEnvironmentCommand).rejects(awsError('InsufficientPrivilegesException', 'not allowed'));

    // Act
    const run = handler(stateBeforeDeploy(), context);

    // Assert
    await expect(run).rejects.toThrow(DeployNotStarted);
    await expect(run).rejects.toThrow(
      'the environment was not changed: InsufficientPrivilegesException: not allowed',
    );
  });

  it('passes a lost reply on as it is, so the state machine watches health instead of assuming', async () => {
    // Arrange: no HTTP status, so EB may have applied the update.
    mocks.eb
      .on(UpdateEnvironmentCommand)
      .rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));

    // Act
    const run = handler(stateBeforeDeploy(), context);

    // Assert
    await expect(run).rejects.toHaveProperty('name', 'TimeoutError');
  });
});
