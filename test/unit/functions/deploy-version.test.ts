import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/deploy-version.js';
import {
  DeployNotStarted,
  EnvironmentNotReady,
  InputInvalid,
  LockLost,
  UpdateOutcomeUnknown,
} from '../../../lib/errors.js';
import { acquireLock, listHistory } from '../../../lib/store/deployments.js';
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
  OTHER_EXECUTION,
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

/** The environment as EB reports it; UpdateEnvironment moves it to Updating on the new label. */
let env: { Status: string; VersionLabel: string };

async function holdLock(owner = EXECUTION): Promise<void> {
  await acquireLock(db, TABLE, ENV, {
    owner,
    versionLabel: LABEL,
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now: new Date(),
  });
}

beforeEach(async () => {
  await holdLock();
  env = { Status: 'Ready', VersionLabel: OLD_LABEL };
  mocks.eb.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).callsFake(() => ({
    Environments: [{ ApplicationName: 'antenna', EnvironmentName: 'antenna-prod', ...env }],
  }));
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  mocks.eb.on(UpdateEnvironmentCommand).callsFake((input: { VersionLabel: string }) => {
    // EB API reference, UpdateEnvironment example: the answer shows the new label, Updating.
    env = { Status: 'Updating', VersionLabel: input.VersionLabel };
    return { EnvironmentName: 'antenna-prod', ...env, DateUpdated: UPDATED_AT };
  });
});

/** UpdateEnvironment is applied by EB, then the reply is lost (no HTTP status reaches the SDK). */
function applyThenLoseReply(): void {
  mocks.eb.on(UpdateEnvironmentCommand).callsFake((input: { VersionLabel: string }) => {
    env = { Status: 'Updating', VersionLabel: input.VersionLabel };
    throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
  });
}

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
      // Its 1,200 s timeout at the shortest jittered poll (12 s), plus 10.
      maxPolls: 110,
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
    await expect(run).rejects.toThrow('InsufficientPrivilegesException: not allowed');
  });

  it('watches an update whose reply was lost once EB shows it updating to the new label', async () => {
    // Arrange
    applyThenLoseReply();

    // Act
    const result = await handler(stateBeforeDeploy(), context);

    // Assert: started, from the old version, and sent once.
    expect(result).toMatchObject({ toVersion: LABEL, fromVersion: OLD_LABEL });
    expect(mocks.eb.commandCalls(UpdateEnvironmentCommand)).toHaveLength(1);
  });

  it('never sends the update twice when the step is run again after EB accepted it', async () => {
    // Arrange: the first run succeeded; Step Functions runs the step again (Lambda error after return).
    const first = await handler(stateBeforeDeploy(), context);

    // Act
    const second = await handler(stateBeforeDeploy(), context);

    // Assert
    expect(mocks.eb.commandCalls(UpdateEnvironmentCommand)).toHaveLength(1);
    expect(second).toMatchObject({ toVersion: LABEL, fromVersion: OLD_LABEL, startedAt: expect.any(String) });
    expect(first.toVersion).toBe(second.toVersion);
  });

  it('watches, not resends, when an earlier run reached EB and the update already failed and reverted', async () => {
    // Arrange: the reply is lost and EB shows nothing yet; then EB fails the deploy and reverts.
    mocks.eb.on(UpdateEnvironmentCommand).callsFake(() => {
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });
    await expect(handler(stateBeforeDeploy(), context)).rejects.toThrow(UpdateOutcomeUnknown);
    mocks.eb.on(DescribeEventsCommand).resolves({
      Events: [
        { EventDate: new Date(), Severity: 'INFO', Message: 'Environment update is starting.' },
        { EventDate: new Date(), Severity: 'ERROR', Message: 'Failed to deploy application.' },
      ],
    });

    // Act: the state machine's retry.
    const result = await handler(stateBeforeDeploy(), context);

    // Assert: the health watch will judge it (Ready on the old version rolls back).
    expect(result).toMatchObject({ toVersion: LABEL, fromVersion: OLD_LABEL });
    expect(mocks.eb.commandCalls(UpdateEnvironmentCommand)).toHaveLength(1);
  });

  it('sends the update again only when EB shows no trace of the first call', async () => {
    // Arrange: the first call never reached EB (connection refused: no answer, no effect).
    mocks.eb
      .on(UpdateEnvironmentCommand)
      .rejectsOnce(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error', code: 'ECONNREFUSED' }));
    await expect(handler(stateBeforeDeploy(), context)).rejects.toThrow(UpdateOutcomeUnknown);
    mocks.eb.on(UpdateEnvironmentCommand).callsFake((input: { VersionLabel: string }) => {
      env = { Status: 'Updating', VersionLabel: input.VersionLabel };
      return { ...env, DateUpdated: UPDATED_AT };
    });

    // Act
    const result = await handler(stateBeforeDeploy(), context);

    // Assert
    expect(result.toVersion).toBe(LABEL);
    expect(mocks.eb.commandCalls(UpdateEnvironmentCommand)).toHaveLength(2);
  });

  it('treats "Must be Ready" after an SDK retry as unknown: the first attempt may have been applied', async () => {
    // Arrange: attempt 1 got a 5xx after EB applied it (not visible yet), attempt 2 "Must be Ready".
    mocks.eb
      .on(UpdateEnvironmentCommand)
      .rejects(
        Object.assign(
          new Error(
            'Environment named antenna-prod is in an invalid state for this operation. Must be Ready.',
          ),
          { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400, attempts: 2 } },
        ),
      );

    // Act
    const run = handler(stateBeforeDeploy(), context);

    // Assert: never "not started", so never the failed-before-deploy path.
    await expect(run).rejects.toThrow(UpdateOutcomeUnknown);
  });

  it('changes nothing when this execution no longer holds the lock (redriven after a takeover)', async () => {
    // Arrange: another execution took the environment.
    await acquireLock(db, TABLE, ENV, {
      owner: OTHER_EXECUTION,
      versionLabel: 'v11-x',
      imageDigest: 'sha256:y',
      leaseSeconds: 10_800,
      now: new Date(Date.now() + 20_000 * 1000),
    });

    // Act
    const run = handler(stateBeforeDeploy(), context);

    // Assert
    await expect(run).rejects.toThrow(LockLost);
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
  });
});
