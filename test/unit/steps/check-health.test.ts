/**
 * CheckHealth around the verdict (lib/steps/check-health.ts): how many polls a watch gets, what an
 * unread poll keeps, and an environment that disappears mid-watch.
 */
import {
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkHealth, watchLimits } from '../../../lib/steps/check-health.js';
import type { HealthProgress } from '../../../lib/workflow-state.js';
import { answerAlarms } from '../../support/aws-env.js';
import { awsError, deploy, LABEL, mocks, OLD_LABEL, release } from '../functions/fixtures.js';

const watch = { toVersion: LABEL, fromVersion: OLD_LABEL, startedAt: deploy.startedAt };

/** Seven polls in: converged at 10:02:00, Green since then, two warnings on record. */
const remembered: HealthProgress = {
  verdict: 'wait',
  polls: 7,
  nextPollSeconds: 15,
  convergedAt: '2026-11-23T10:02:00.000Z',
  healthySince: '2026-11-23T10:02:00.000Z',
  lastReadAt: '2026-11-23T10:02:30.000Z',
  status: 'Ready',
  color: 'Green',
  healthStatus: 'Ok',
  causes: [],
  events: ['2026-11-23T10:01:10Z WARN Instance i-0abc restarted'],
};

beforeEach(() => {
  // These tests are about the verdict around one read: each execution reading EB itself. The shared
  // read (lib/health/fleet-read.ts) has its own tests, through the stand-in (test/standin/fleet-read.test.ts).
  vi.stubEnv('EBSHIP_HEALTH_READ', 'direct');
  mocks.eb.reset();
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  // antenna-prod gates its deploys on two alarms (ebship.yml health.alarms): OK unless a test says so.
  mocks.cloudwatch.reset();
  answerAlarms();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('watchLimits', () => {
  it.each([
    // antenna-prod: 1,200 s at the shortest jittered poll (15 s × 0.8 = 12 s) is 100 polls, plus 10.
    [1200, 15, 110],
    // 1,200 s at 5.6 s is 214.3 polls: rounded up, never short of the timeout.
    [1200, 7, 225],
    // A poll interval under 1.25 s still counts at least 1 s a poll.
    [1200, 1, 1210],
  ])('gives a %i s watch polled every %i s %i polls', (timeoutSeconds, pollSeconds, maxPolls) => {
    expect(watchLimits({ timeoutSeconds, pollSeconds })).toEqual({ maxPolls });
  });
});

describe('CheckHealth: a poll that cannot read EB', () => {
  beforeEach(() => {
    mocks.eb.on(DescribeEnvironmentHealthCommand).rejects(awsError('InternalFailure', 'internal', 500));
  });

  it('keeps everything the watch knew, so grace, bake and events go on from where they were', async () => {
    // Act
    const h = await checkHealth(release(), watch, remembered);

    // Assert
    expect(h).toMatchObject({
      verdict: 'wait',
      polls: 8,
      convergedAt: remembered.convergedAt,
      healthySince: remembered.healthySince,
      lastReadAt: remembered.lastReadAt,
      status: 'Ready',
      color: 'Green',
      healthStatus: 'Ok',
      events: remembered.events,
    });
    expect(h.causes).toEqual([
      'could not read health (InternalFailure: internal; last read 2026-11-23T10:02:30.000Z)',
    ]);
  });

  it('says so when health was never read since the update', async () => {
    // Act
    const h = await checkHealth(release(), watch, undefined);

    // Assert
    expect(h).toMatchObject({ verdict: 'wait', polls: 1, events: [] });
    expect(h.causes[0]).toContain('never read since the update');
  });

  it.each([
    [0, 12],
    [0.5, 15],
    [0.999999, 18],
  ])('polls again after the policy interval ±20%% (random %d → %d s)', async (random, seconds) => {
    // Arrange
    vi.spyOn(Math, 'random').mockReturnValue(random);

    // Act
    const h = await checkHealth(release(), watch, remembered);

    // Assert
    expect(h.nextPollSeconds).toBe(seconds);
  });
});

describe('CheckHealth: an environment gone mid-watch', () => {
  it('rolls back (the state machine then calls for a person) when the environment was terminated', async () => {
    // Arrange: EB answers for a terminated environment (EB API: DescribeEnvironments returns it with
    // Status Terminated for about an hour; health calls fail).
    mocks.eb
      .on(DescribeEnvironmentHealthCommand)
      .rejects(awsError('InvalidRequestException', 'No Environment found for EnvironmentName'));
    mocks.eb.on(DescribeInstancesHealthCommand).rejects(awsError('InvalidRequestException', 'none'));
    mocks.eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        {
          ApplicationName: 'antenna',
          EnvironmentName: 'antenna-prod',
          Status: 'Terminated',
          VersionLabel: LABEL,
        },
      ],
    });

    // Act
    const h = await checkHealth(release(), watch, remembered);

    // Assert
    expect(h.verdict).toBe('rollback');
    expect(h.causes).toEqual(['environment is Terminated']);
  });
});

describe('CheckHealth: someone else deploys during the watch', () => {
  it('stops watching and changes nothing (overridden), never rolls back over their version', async () => {
    // Arrange: Ready and Green on a version that is neither ours nor the one we replaced.
    mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
      EnvironmentName: 'antenna-prod',
      Status: 'Ready' as never,
      Color: 'Green',
      HealthStatus: 'Ok',
      Causes: [],
      RefreshedAt: new Date('2026-11-23T10:04:00.000Z'),
    });
    mocks.eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        {
          ApplicationName: 'antenna',
          EnvironmentName: 'antenna-prod',
          Status: 'Ready',
          VersionLabel: 'v11-console',
        },
      ],
    });
    mocks.eb.on(DescribeInstancesHealthCommand).resolves({
      InstanceHealthList: [
        {
          InstanceId: 'i-0abc1234def567890',
          Color: 'Green',
          HealthStatus: 'Ok',
          Deployment: { VersionLabel: 'v11-console', Status: 'Deployed' },
        },
      ],
    });

    // Act
    const h = await checkHealth(release(), watch, remembered);

    // Assert
    expect(h.verdict).toBe('overridden');
    expect(h.causes[0]).toContain(
      'v11-console was deployed to the environment by someone other than this execution',
    );
  });
});

describe('CheckHealth: a throttled EB never rolls back a healthy deploy', () => {
  // EB answers Describe* over its rate with HTTP 400 Throttling "Rate exceeded" (EB API reference,
  // Common Errors). A fleet deploying at once can be throttled for longer than a watch's timeout.
  const throttling = () => awsError('Throttling', 'Rate exceeded', 400);

  it('neither spends the poll budget nor the timeout on throttled polls, however many', async () => {
    // Arrange: throttled for 300 polls, far past the 110-poll budget and the 1,200 s timeout.
    mocks.eb.on(DescribeEnvironmentHealthCommand).rejects(throttling());
    let h: HealthProgress | undefined;

    // Act
    for (let i = 0; i < 300; i++) h = await checkHealth(release(), watch, h);

    // Assert
    expect(h?.verdict).toBe('wait');
    expect(h?.polls).toBe(0);
    expect(h?.throttled?.polls).toBe(300);
    expect(h?.causes[0]).toContain('could not read health (Throttling: Rate exceeded');
    expect(h?.causes[0]).toContain('throttled, so not counted against the watch');
  });

  it('judges the first read after a long throttle on the environment, not on the time lost', async () => {
    // Arrange: 200 throttled polls (about 50 minutes), then EB answers: Ready, Green, every instance
    // on the new version, 51 minutes after the update: past the 1,200 s timeout by the clock alone.
    mocks.eb.on(DescribeEnvironmentHealthCommand).rejects(throttling());
    let h: HealthProgress | undefined;
    for (let i = 0; i < 200; i++) h = await checkHealth(release(), watch, h);
    const readAt = new Date(Date.parse(deploy.startedAt) + 51 * 60_000);
    mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
      EnvironmentName: 'antenna-prod',
      Status: 'Ready' as never,
      Color: 'Green',
      HealthStatus: 'Ok',
      Causes: [],
      RefreshedAt: readAt,
    });
    mocks.eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        { ApplicationName: 'antenna', EnvironmentName: 'antenna-prod', Status: 'Ready', VersionLabel: LABEL },
      ],
    });
    mocks.eb.on(DescribeInstancesHealthCommand).resolves({
      InstanceHealthList: [
        {
          InstanceId: 'i-0abc',
          Color: 'Green',
          HealthStatus: 'Ok',
          Deployment: { VersionLabel: LABEL, Status: 'Deployed' },
        },
      ],
    });

    // Act
    const read = await checkHealth(release(), watch, h);

    // Assert: converged and baking, not a timeout (which would abort and roll back).
    expect(read.verdict).toBe('wait');
    expect(read.convergedAt).toBe(readAt.toISOString());
    expect(read.causes[0]).toMatch(/Green for 0s of the \d+s bake time/);
  });

  it('still counts polls that failed for another reason (a 5xx), so a broken read ends the watch', async () => {
    // Arrange
    mocks.eb.on(DescribeEnvironmentHealthCommand).rejects(awsError('InternalFailure', 'internal', 500));
    let h: HealthProgress | undefined;

    // Act
    for (let i = 0; i < 110; i++) h = await checkHealth(release(), watch, h);

    // Assert
    expect(h?.verdict).toBe('timeout');
  });
});

describe('CheckHealth: the timeout bounds the update, not the bake', () => {
  function readyOn(version: string, at: Date, color = 'Green', healthStatus = 'Ok') {
    mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
      EnvironmentName: 'antenna-prod',
      Status: 'Ready' as never,
      Color: color as never,
      HealthStatus: healthStatus,
      Causes: [],
      RefreshedAt: at,
    });
    mocks.eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        {
          ApplicationName: 'antenna',
          EnvironmentName: 'antenna-prod',
          Status: 'Ready',
          VersionLabel: version,
        },
      ],
    });
    mocks.eb.on(DescribeInstancesHealthCommand).resolves({
      InstanceHealthList: [
        {
          InstanceId: 'i-0abc',
          Color: color as never,
          HealthStatus: healthStatus,
          Deployment: { VersionLabel: version, Status: 'Deployed' },
        },
      ],
    });
  }
  const late = (seconds: number) => new Date(Date.parse(deploy.startedAt) + seconds * 1000);
  const slowWatch: HealthProgress = {
    verdict: 'wait',
    polls: 3,
    nextPollSeconds: 15,
    causes: [],
    events: [],
  };

  it('starts the bake when the first look that finds the update done comes after the timeout (slow polls)', async () => {
    // Arrange: polls came slowly (a busy account); EB finished, the look is 1,300 s after the update.
    readyOn(LABEL, late(1300));

    // Act
    const h = await checkHealth(release(), watch, slowWatch);

    // Assert
    expect(h.verdict).toBe('wait');
    expect(h.convergedAt).toBe(late(1300).toISOString());
  });

  it('judges a late, finished update on its health: Red rolls back, with Red as the reason', async () => {
    // Arrange
    readyOn(LABEL, late(1300), 'Red', 'Severe');

    // Act
    const h = await checkHealth(release(), watch, slowWatch);

    // Assert
    expect(h.verdict).toBe('rollback');
    expect(h.causes[0]).toContain('health is Red (Severe) after the update');
  });

  it('still times out an update EB has not finished (Ready on the old version is a rollback, Updating a timeout)', async () => {
    // Arrange: still Updating 1,300 s after the update.
    mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
      EnvironmentName: 'antenna-prod',
      Status: 'Updating' as never,
      Color: 'Grey',
      HealthStatus: 'Pending',
      Causes: [],
      RefreshedAt: late(1300),
    });

    // Act
    const h = await checkHealth(release(), watch, slowWatch);

    // Assert
    expect(h.verdict).toBe('timeout');
  });

  it('ends the bake of a late convergence once its own deadline passes (Yellow, not accepted, never becomes healthy)', async () => {
    // Arrange: converged at 1,300 s, still Yellow 1,300 + 300 (bake) + 120 (grace) + 4 × 15 + 1 s
    // after the update.
    readyOn(LABEL, late(1300 + 300 + 120 + 60 + 1), 'Yellow', 'Warning');

    // Act
    const h = await checkHealth(release(), watch, { ...slowWatch, convergedAt: late(1300).toISOString() });

    // Assert
    expect(h.verdict).toBe('timeout');
  });
});

describe('CheckHealth: a converged, Green environment is never timed out in its bake', () => {
  it('calls it healthy at the first look after the bake, however late (looks 10 minutes apart)', async () => {
    // Arrange: converged at 1,000 s; the next look comes at 1,600 s, past any deadline by the clock.
    mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
      EnvironmentName: 'antenna-prod',
      Status: 'Ready' as never,
      Color: 'Green',
      HealthStatus: 'Ok',
      Causes: [],
      RefreshedAt: new Date(Date.parse(deploy.startedAt) + 1600 * 1000),
    });
    mocks.eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        { ApplicationName: 'antenna', EnvironmentName: 'antenna-prod', Status: 'Ready', VersionLabel: LABEL },
      ],
    });
    mocks.eb.on(DescribeInstancesHealthCommand).resolves({
      InstanceHealthList: [
        {
          InstanceId: 'i-0abc',
          Color: 'Green',
          HealthStatus: 'Ok',
          Deployment: { VersionLabel: LABEL, Status: 'Deployed' },
        },
      ],
    });
    const at = new Date(Date.parse(deploy.startedAt) + 1000 * 1000).toISOString();

    // Act
    const h = await checkHealth(release(), watch, {
      verdict: 'wait',
      polls: 5,
      nextPollSeconds: 15,
      causes: [],
      events: [],
      convergedAt: at,
      healthySince: at,
    });

    // Assert
    expect(h.verdict).toBe('healthy');
  });
});
