/**
 * DeployVersion's "at most once" update (lib/steps/start-update.ts through lib/steps/deploy-version.ts):
 * which error names a failure ends in decides the state machine's route (deploy.asl.yml, DeployVersion:
 * EnvironmentNotReady and UpdateOutcomeUnknown are retried, Throttling is retried and then fails before
 * deploy, DeployNotStarted fails before deploy, anything else goes to the health watch).
 */
import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DeployNotStarted,
  EnvironmentNotFound,
  EnvironmentNotReady,
  UpdateOutcomeUnknown,
} from '../../../lib/errors.js';
import { deployRelease } from '../../../lib/steps/deploy-version.js';
import { acquireLock } from '../../../lib/store/deployments.js';
import {
  db,
  ENV,
  EXECUTION,
  LABEL,
  mocks,
  OLD_LABEL,
  release,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

/** The environment as EB reports it; UpdateEnvironment moves it to Updating on the new label. */
let env: { Status: string; VersionLabel: string } | undefined;
/** What DescribeEvents returns from now on. */
let events: { EventDate: Date; Severity: string; Message: string }[];
/** A version another team member deployed by hand in the console. */
const CONSOLE_LABEL = 'v11-console-deploy';

function accept(input: { VersionLabel: string }) {
  env = { Status: 'Updating', VersionLabel: input.VersionLabel };
  return { EnvironmentName: 'antenna-prod', ...env, DateUpdated: new Date() };
}

/** An error as the SDK raises it after `attempts` attempts, the last answered with `status`. */
function sdkError(name: string, message: string, status: number | undefined, attempts = 1): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { ...(status === undefined ? {} : { httpStatusCode: status }), attempts },
  });
}

/** The call never reached EB (connection refused): no answer, no effect, no trace in EB's events. */
const refusedConnection = () =>
  Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error', code: 'ECONNREFUSED' });

beforeEach(async () => {
  await acquireLock(db, TABLE, ENV, {
    owner: EXECUTION,
    versionLabel: LABEL,
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now: new Date(),
  });
  env = { Status: 'Ready', VersionLabel: OLD_LABEL };
  events = [];
  mocks.eb.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).callsFake(() => ({
    Environments: env ? [{ ApplicationName: 'antenna', EnvironmentName: 'antenna-prod', ...env }] : [],
  }));
  mocks.eb.on(DescribeEventsCommand).callsFake(() => ({ Events: events }));
  mocks.eb.on(UpdateEnvironmentCommand).callsFake(accept);
});

const updateCalls = () => mocks.eb.commandCalls(UpdateEnvironmentCommand).length;

/** UpdateEnvironment fails once with `err`, then EB accepts it. */
function failOnce(err: Error): void {
  let failed = false;
  mocks.eb.on(UpdateEnvironmentCommand).callsFake((input: { VersionLabel: string }) => {
    if (failed) return accept(input);
    failed = true;
    throw err;
  });
}

describe('DeployVersion: an update whose reply was lost', () => {
  // EB API model, EnvironmentStatus: Aborting | Launching | Updating | LinkingFrom | LinkingTo | Ready |
  // Terminating | Terminated. Each of the first five on the new label means the update is under way.
  it.each(['Launching', 'Updating', 'Aborting', 'LinkingFrom', 'LinkingTo', 'Ready'])(
    'is watched, never sent twice, when EB shows the environment %s on the new label',
    async (status) => {
      // Arrange: EB applies the update; the reply is lost.
      mocks.eb.on(UpdateEnvironmentCommand).callsFake(() => {
        env = { Status: status, VersionLabel: LABEL };
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      });

      // Act
      const result = await deployRelease(release());

      // Assert
      expect(result).toMatchObject({ toVersion: LABEL, fromVersion: OLD_LABEL });
      expect(updateCalls()).toBe(1);
    },
  );

  it('is never reported as a refusal when the answer was a 200 the SDK could not read', async () => {
    // Arrange: EB answered 200 (it applied the update), the body was cut short, and EB's
    // DescribeEnvironments does not show the new label yet.
    mocks.eb
      .on(UpdateEnvironmentCommand)
      .rejects(sdkError('SyntaxError', 'Unexpected end of XML: deserialization failed', 200));

    // Act
    const run = deployRelease(release());

    // Assert: looked at again, never "failed before deploy".
    await expect(run).rejects.toThrow(UpdateOutcomeUnknown);
  });

  it.each([500, 503])('is never reported as a refusal after a single %i answer', async (status) => {
    // Arrange: a 5xx may come after EB applied the update; EB shows nothing yet.
    mocks.eb.on(UpdateEnvironmentCommand).rejects(sdkError('InternalFailure', 'internal error', status));

    // Act
    const run = deployRelease(release());

    // Assert: the alert quotes EB's answer if the watch never learns more.
    await expect(run).rejects.toThrow(UpdateOutcomeUnknown);
    await expect(run).rejects.toThrow(
      `UpdateEnvironment to ${LABEL} got no usable answer (InternalFailure: internal error)`,
    );
  });

  it('is reported unknown, not as a refusal, when EB cannot be looked at after the failed call', async () => {
    // Arrange: the call and the look after it both fail.
    mocks.eb.on(UpdateEnvironmentCommand).rejects(sdkError('InternalFailure', 'internal error', 500));
    mocks.eb.on(DescribeEnvironmentsCommand).callsFake(() => {
      if (updateCalls() > 0) throw sdkError('InternalFailure', 'internal error', 500);
      return { Environments: [{ ApplicationName: 'antenna', EnvironmentName: 'antenna-prod', ...env }] };
    });

    // Act
    const run = deployRelease(release());

    // Assert
    await expect(run).rejects.toThrow(UpdateOutcomeUnknown);
  });

  it('keeps the next run from sending it again even when EB cannot be read then', async () => {
    // Arrange: run 1 got no answer (and no trace yet); run 2 finds DescribeEnvironments throttled.
    failOnce(refusedConnection());
    await expect(deployRelease(release())).rejects.toThrow(UpdateOutcomeUnknown);
    mocks.eb.on(DescribeEnvironmentsCommand).rejects(sdkError('Throttling', 'Rate exceeded', 400));

    // Act
    const run = deployRelease(release());

    // Assert: still unknown (retried, then watched), never a bare Throttling, which the state machine
    // would end as "failed before deploy, environment unchanged" though the first call may have landed.
    await expect(run).rejects.toThrow(UpdateOutcomeUnknown);
  });
});

describe('DeployVersion: a call EB provably did not apply', () => {
  it('is sent afresh once another update ends, never mistaken for ours (after "no trace")', async () => {
    // Arrange: run 1 never reached EB. Run 2 finds no trace of it, but the environment busy with a
    // console deploy whose events have not shown yet.
    failOnce(refusedConnection());
    await expect(deployRelease(release())).rejects.toThrow(UpdateOutcomeUnknown);
    env = { Status: 'Updating', VersionLabel: CONSOLE_LABEL };
    await expect(deployRelease(release())).rejects.toThrow(EnvironmentNotReady);
    // The console deploy completes: its events are after run 1's call.
    env = { Status: 'Ready', VersionLabel: CONSOLE_LABEL };
    events = [
      { EventDate: new Date(), Severity: 'INFO', Message: 'Environment update completed successfully.' },
    ];

    // Act: the state machine's retry.
    const result = await deployRelease(release());

    // Assert: our update is sent (the console deploy's events are not ours), from the console version.
    expect(updateCalls()).toBe(2);
    expect(result).toMatchObject({ toVersion: LABEL, fromVersion: CONSOLE_LABEL });
  });

  it('is sent afresh after "Must be Ready", once the update that beat it ends', async () => {
    // Arrange: a console deploy starts between our look and our call; EB refuses ours (HTTP 400, one attempt).
    mocks.eb.on(UpdateEnvironmentCommand).callsFake(() => {
      env = { Status: 'Updating', VersionLabel: CONSOLE_LABEL };
      throw sdkError(
        'InvalidParameterValue',
        'Environment named antenna-prod is in an invalid state for this operation. Must be Ready.',
        400,
      );
    });
    const first = deployRelease(release());
    await expect(first).rejects.toThrow(EnvironmentNotReady);
    await expect(first).rejects.toThrow('antenna-prod is busy (');
    env = { Status: 'Ready', VersionLabel: CONSOLE_LABEL };
    events = [
      { EventDate: new Date(), Severity: 'INFO', Message: 'Environment update completed successfully.' },
    ];
    mocks.eb.on(UpdateEnvironmentCommand).callsFake(accept);

    // Act
    const result = await deployRelease(release());

    // Assert
    expect(updateCalls()).toBe(2);
    expect(result).toMatchObject({ toVersion: LABEL, fromVersion: CONSOLE_LABEL });
  });

  // EB throttles with HTTP 400 "Throttling" (AWS query protocol common errors); the state machine
  // retries these names on DeployVersion (test/workflow/definition.test.ts checks they exist).
  it.each(['Throttling', 'ThrottlingException', 'TooManyRequestsException'])(
    'passes a single %s answer on as it is, so the state machine retries the deploy',
    async (name) => {
      // Arrange
      failOnce(sdkError(name, 'Rate exceeded', 400));

      // Act
      const run = deployRelease(release());

      // Assert: never DeployNotStarted, which fails the deploy at once.
      await expect(run).rejects.toMatchObject({ name });
      expect((await deployRelease(release())).toVersion).toBe(LABEL);
      expect(updateCalls()).toBe(2);
    },
  );

  it('reports an environment that does not exist as it is: nothing was sent', async () => {
    // Arrange
    env = undefined;

    // Act
    const run = deployRelease(release());

    // Assert: EnvironmentNotFound fails before deploy; never "unknown", which would watch health.
    await expect(run).rejects.toThrow(EnvironmentNotFound);
    expect(updateCalls()).toBe(0);
  });

  it('never takes an environment being terminated on the label for one running it', async () => {
    // Arrange
    env = { Status: 'Terminating', VersionLabel: LABEL };

    // Act
    const run = deployRelease(release());

    // Assert: not watched as a deploy under way.
    await expect(run).rejects.toThrow(EnvironmentNotReady);
    await expect(run).rejects.toThrow('antenna-prod is Terminating on v10-7f5b2640fe6f');
    expect(updateCalls()).toBe(0);
  });

  it('reports a refusal as DeployNotStarted, naming EB’s error', async () => {
    // Arrange
    mocks.eb
      .on(UpdateEnvironmentCommand)
      .rejects(sdkError('InvalidParameterValue', 'No Application Version named x', 400));

    // Act
    const run = deployRelease(release());

    // Assert
    await expect(run).rejects.toThrow(DeployNotStarted);
    await expect(run).rejects.toThrow(`EB refused to update antenna-prod to ${LABEL}: InvalidParameterValue`);
  });
});
