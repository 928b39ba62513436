import {
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  type EnvironmentHealth,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/check-health.js';
import { InputInvalid } from '../../../lib/errors.js';
import type { HealthProgress } from '../../../lib/workflow-state.js';
import { answerAlarms } from '../../support/aws-env.js';
import { awsError, deploy, LABEL, lambdaContext, mocks, OLD_LABEL, release, watchStart } from './fixtures.js';

const context = lambdaContext('CheckHealth');
// DescribeEnvironmentHealth returns the operational status (Ready, Updating) in Status, although the
// API model types it as a colour (lib/aws/eb.ts).
const operational = (status: string) => status as EnvironmentHealth;
/** RollBack redeployed v9 at 10:06:10, after v10 went Red. */
const rollback = {
  fromVersion: LABEL,
  toVersion: OLD_LABEL,
  startedAt: '2026-11-23T10:06:10.000Z',
  firstPollSeconds: 15,
};

/** EB reports the environment Ready and Green, every instance on `versionLabel`, at `refreshedAt`. */
function environmentReadyOn(versionLabel: string, refreshedAt: string, color = 'Green') {
  mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
    EnvironmentName: 'antenna-prod',
    Status: operational('Ready'),
    Color: color,
    HealthStatus: color === 'Green' ? 'Ok' : 'Severe',
    Causes: color === 'Green' ? [] : ['100.0 % of the requests are failing with HTTP 5xx.'],
    RefreshedAt: new Date(refreshedAt),
  });
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: 'Ready',
        VersionLabel: versionLabel,
      },
    ],
  });
  mocks.eb.on(DescribeInstancesHealthCommand).resolves({
    InstanceHealthList: [
      {
        InstanceId: 'i-0abc1234def567890',
        Color: color,
        HealthStatus: color === 'Green' ? 'Ok' : 'Severe',
        Deployment: { VersionLabel: versionLabel, Status: 'Deployed' },
      },
    ],
  });
}

/** Green on the new version since 10:02:00: the bake of ebship.yml's 300 s is over at 10:07:00. */
const bakedHealth: HealthProgress = {
  verdict: 'wait',
  polls: 7,
  nextPollSeconds: 15,
  convergedAt: '2026-11-23T10:02:00.000Z',
  healthySince: '2026-11-23T10:02:00.000Z',
  status: 'Ready',
  color: 'Green',
  healthStatus: 'Ok',
  causes: [],
  events: [],
};

beforeEach(() => {
  mocks.eb.reset();
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  // antenna-prod gates its deploys on two alarms (ebship.yml health.alarms): OK unless a test says so.
  mocks.cloudwatch.reset();
  answerAlarms();
});

describe('check-health handler, deploy phase', () => {
  it('waits while the environment is still updating', async () => {
    // Arrange
    mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
      Status: operational('Updating'),
      Color: 'Grey',
      HealthStatus: 'Pending',
      RefreshedAt: new Date('2026-11-23T10:01:00.000Z'),
    });

    // Act
    const result = await handler(
      { phase: 'deploy', release: release(), deploy, health: watchStart },
      context,
    );

    // Assert
    expect(result).toMatchObject({ verdict: 'wait', polls: 1, status: 'Updating' });
    expect(mocks.eb).toHaveReceivedCommandWith(DescribeEventsCommand, {
      EnvironmentName: 'antenna-prod',
      StartTime: new Date(deploy.startedAt),
    });
  });

  it('calls the deploy healthy once Green has held on the new version for the bake time', async () => {
    // Arrange
    environmentReadyOn(LABEL, '2026-11-23T10:07:05.000Z');

    // Act
    const result = await handler(
      { phase: 'deploy', release: release(), deploy, health: bakedHealth },
      context,
    );

    // Assert
    expect(result).toMatchObject({ verdict: 'healthy', polls: 8, color: 'Green' });
    expect(result.causes).toEqual([`Green for 305s on ${LABEL}`]);
  });

  it('after a wait for an EB event, always names a positive wait for the next state, even at a verdict that ends the watch', async () => {
    // Arrange: CheckHealthAfterWait's next state is the wait again, whose TimeoutSecondsPath must resolve.
    environmentReadyOn(LABEL, '2026-11-23T10:07:05.000Z');

    // Act
    const result = await handler(
      { phase: 'deploy', afterWait: true, release: release(), deploy, health: bakedHealth },
      context,
    );

    // Assert
    expect(result.verdict).toBe('healthy');
    expect(result.fallbackSeconds).toBeGreaterThan(0);
  });

  it('after a wait that should have ended the watch, fails with WatchEnded instead of looking again', async () => {
    // Arrange: the last look was healthy, but the wait timed out before its registration refused.
    const ended = { ...bakedHealth, verdict: 'healthy' as const };

    // Act
    const look = handler(
      { phase: 'deploy', afterWait: true, release: release(), deploy, health: ended },
      context,
    );

    // Assert: the Catch's plain path reads once more and its Choice routes the verdict; no loop.
    await expect(look).rejects.toMatchObject({ name: 'WatchEnded' });
    expect(mocks.eb.calls()).toHaveLength(0);
  });

  it('rolls back when EB is Ready on the old version: it did not apply the update', async () => {
    // Arrange
    environmentReadyOn(OLD_LABEL, '2026-11-23T10:03:05.000Z');

    // Act
    const result = await handler(
      { phase: 'deploy', release: release(), deploy, health: bakedHealth },
      context,
    );

    // Assert
    expect(result.verdict).toBe('rollback');
    expect(result.causes[0]).toContain(`Ready on version ${OLD_LABEL}, not ${LABEL}`);
  });

  it('rejects a deploy-phase state without the deploy result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ phase: 'deploy', release: release(), health: watchStart }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "deploy"');
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });

  it('rejects a state without a phase with InputInvalid naming it', async () => {
    // Act
    const run = handler({ release: release(), deploy, health: watchStart }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('phase');
  });
});

describe('check-health handler: a poll that cannot read health is no data, never a verdict', () => {
  beforeEach(() => mocks.eb.reset());

  it('keeps watching through throttling, saying it could not read health', async () => {
    // Arrange: EB's Describe* throttled past the SDK's retries (HTTP 400 Throttling "Rate exceeded").
    mocks.eb.on(DescribeEnvironmentHealthCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    mocks.eb.on(DescribeEventsCommand).rejects(awsError('Throttling', 'Rate exceeded'));

    // Act
    const h = await handler({ phase: 'deploy', release: release(), deploy, health: bakedHealth }, context);

    // Assert: still waiting, the bake so far kept, the reason said.
    expect(h.verdict).toBe('wait');
    expect(h.healthySince).toBe(bakedHealth.healthySince);
    expect(h.causes[0]).toContain('could not read health (Throttling: Rate exceeded');
  });

  it('times out (abort, then roll back) once unread polls pass the watch deadline, saying why', async () => {
    // Arrange: a 5xx on every look, and the deploy started long ago (the timeout is 1,200 s).
    mocks.eb.on(DescribeEnvironmentHealthCommand).rejects(awsError('InternalFailure', 'internal', 500));
    mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
    // 1,200 s at the shortest jittered poll (12 s) is 100 polls, plus 10: this is poll 110.
    const late = { ...bakedHealth, polls: 109 };

    // Act
    const h = await handler({ phase: 'deploy', release: release(), deploy, health: late }, context);

    // Assert
    expect(h.verdict).toBe('timeout');
    expect(h.causes[0]).toMatch(/no healthy verdict after 110 polls since .*could not read health/);
  });
});

describe('check-health handler, rollback phase', () => {
  // The full state, with both watches: the phase decides which one is read.
  const fullState = {
    release: release(),
    deploy,
    health: { ...bakedHealth, verdict: 'rollback' as const, polls: 12 },
    rollback,
    rollbackHealth: { ...watchStart, polls: 2 },
  };

  it('watches the version rolled back to, from the time of the rollback', async () => {
    // Arrange: v9 is back, Green since the first rollback poll.
    environmentReadyOn(OLD_LABEL, '2026-11-23T10:06:40.000Z');

    // Act
    const result = await handler({ phase: 'rollback', ...fullState }, context);

    // Assert: polls continue the rollback watch (2 → 3), not the deploy watch (12).
    expect(result).toMatchObject({ verdict: 'wait', polls: 3, color: 'Green' });
    expect(result.causes).toEqual(['Green for 0s of the 300s bake time']);
    expect(mocks.eb).toHaveReceivedCommandWith(DescribeEventsCommand, {
      StartTime: new Date(rollback.startedAt),
    });
  });

  it('judges the same environment differently in the deploy phase', async () => {
    // Arrange
    environmentReadyOn(OLD_LABEL, '2026-11-23T10:06:40.000Z');

    // Act
    const result = await handler({ phase: 'deploy', ...fullState }, context);

    // Assert
    expect(result).toMatchObject({ verdict: 'rollback', polls: 13 });
  });

  it('reports a Red rollback so the state machine can call for a person', async () => {
    // Arrange
    environmentReadyOn(OLD_LABEL, '2026-11-23T10:06:40.000Z', 'Red');

    // Act
    const result = await handler({ phase: 'rollback', ...fullState }, context);

    // Assert
    expect(result.verdict).toBe('rollback');
    expect(result.causes).toContain('100.0 % of the requests are failing with HTTP 5xx.');
  });

  it('rejects a rollback-phase state without the rollback result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ phase: 'rollback', release: release(), deploy, health: bakedHealth }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "rollback"');
  });
});
