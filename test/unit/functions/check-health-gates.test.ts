/**
 * CheckHealth's gates (issue 13) through the handler, with the SDK clients mocked: the alarm read
 * (one DescribeAlarms call a poll) and the early abort's instance read while EB is Updating.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  type EnvironmentHealth,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/check-health.js';
import type { HealthProgress } from '../../../lib/workflow-state.js';
import { answerAlarms } from '../../support/aws-env.js';
import { awsError, deploy, LABEL, lambdaContext, mocks, OLD_LABEL, release, watchStart } from './fixtures.js';

const context = lambdaContext('CheckHealth');
const operational = (status: string) => status as EnvironmentHealth;
const ALARMS = ['antenna-prod-5xx', 'antenna-prod-p95-latency'];

/** Green on the new version since 10:02:00, 40 s into ebship.yml's 300 s bake at 10:02:40. */
const baking: HealthProgress = {
  verdict: 'wait',
  polls: 6,
  nextPollSeconds: 15,
  convergedAt: '2026-11-23T10:02:00.000Z',
  healthySince: '2026-11-23T10:02:00.000Z',
  status: 'Ready',
  color: 'Green',
  healthStatus: 'Ok',
  causes: [],
  events: [],
  alarmsBefore: { 'antenna-prod-5xx': 'OK', 'antenna-prod-p95-latency': 'OK' },
};

function readyOn(versionLabel: string, refreshedAt: string) {
  mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
    EnvironmentName: 'antenna-prod',
    Status: operational('Ready'),
    Color: 'Green',
    HealthStatus: 'Ok',
    Causes: [],
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
        InstanceId: 'i-0abc',
        Color: 'Green',
        HealthStatus: 'Ok',
        Deployment: { VersionLabel: versionLabel, Status: 'Deployed' },
      },
    ],
  });
}

/** EB still Updating, its environment health `healthStatus`, the one instance on the new version and Severe. */
function updating(healthStatus: string, refreshedAt: string) {
  mocks.eb.on(DescribeEnvironmentHealthCommand).resolves({
    EnvironmentName: 'antenna-prod',
    Status: operational('Updating'),
    Color: healthStatus === 'Severe' ? 'Red' : 'Grey',
    HealthStatus: healthStatus,
    Causes: [],
    RefreshedAt: new Date(refreshedAt),
  });
  mocks.eb.on(DescribeInstancesHealthCommand).resolves({
    InstanceHealthList: [
      {
        InstanceId: 'i-0abc',
        Color: 'Red',
        HealthStatus: 'Severe',
        Causes: ['Process default has been unhealthy for 3 minutes (Target.FailedHealthChecks).'],
        Deployment: { VersionLabel: LABEL, Status: 'In Progress' },
      },
    ],
  });
}

beforeEach(() => {
  mocks.eb.reset();
  mocks.cloudwatch.reset();
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  answerAlarms();
});

describe('alarm gates in CheckHealth', () => {
  it('reads every alarm in one DescribeAlarms call (AlarmNames up to 100, MaxRecords 100: CloudWatch API reference)', async () => {
    readyOn(LABEL, '2026-11-23T10:02:40.000Z');

    await handler({ phase: 'deploy', release: release(), deploy, health: baking }, context);

    expect(mocks.cloudwatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(mocks.cloudwatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ALARMS,
      MaxRecords: 100,
    });
  });

  it('rolls back, naming the alarm and its StateReason, when one went to ALARM after the update started', async () => {
    readyOn(LABEL, '2026-11-23T10:02:40.000Z');
    answerAlarms({
      'antenna-prod-5xx': {
        state: 'ALARM',
        reason: 'Threshold Crossed: 1 datapoint [31.0] was greater than the threshold (5.0).',
        since: new Date('2026-11-23T10:02:30.000Z'),
      },
    });

    const h = await handler({ phase: 'deploy', release: release(), deploy, health: baking }, context);

    expect(h.verdict).toBe('rollback');
    expect(h.causes[0]).toBe(
      'alarm antenna-prod-5xx went to ALARM at 2026-11-23T10:02:30.000Z, after the update started (OK before it): Threshold Crossed: 1 datapoint [31.0] was greater than the threshold (5.0).',
    );
  });

  it('keeps watching when DescribeAlarms fails (throttled): no data, never a rollback, and no healthy verdict', async () => {
    // Past the end of ebship.yml's 300 s bake: only the unread alarms keep it from being healthy.
    readyOn(LABEL, '2026-11-23T10:07:05.000Z');
    mocks.cloudwatch.on(DescribeAlarmsCommand).rejects(awsError('Throttling', 'Rate exceeded'));

    const h = await handler({ phase: 'deploy', release: release(), deploy, health: baking }, context);

    expect(h.verdict).toBe('wait');
    expect(h.causes[0]).toContain('the alarms could not be read (Throttling: Rate exceeded)');
    expect(h.alarmsBefore).toEqual(baking.alarmsBefore);
  });

  it('does not read the alarms in the rollback watch: they still fire for the version that failed', async () => {
    readyOn(OLD_LABEL, '2026-11-23T10:06:40.000Z');
    const rollback = {
      fromVersion: LABEL,
      toVersion: OLD_LABEL,
      startedAt: '2026-11-23T10:06:10.000Z',
      firstPollSeconds: 15,
    };

    await handler(
      { phase: 'rollback', release: release(), deploy, health: baking, rollback, rollbackHealth: watchStart },
      context,
    );

    expect(mocks.cloudwatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 0);
  });
});

describe('early abort in CheckHealth', () => {
  it('aborts when the instance on the new version has been Severe for 180 s while EB is Updating, naming it and why', async () => {
    updating('Severe', '2026-11-23T10:05:00.000Z');
    const red: HealthProgress = { ...watchStart, polls: 10, redSince: '2026-11-23T10:01:55.000Z' };

    const h = await handler({ phase: 'deploy', release: release(), deploy, health: red }, context);

    expect(h.verdict).toBe('abort');
    expect(h.causes[0]).toContain(`every instance on ${LABEL} has been Degraded or Severe for 185s`);
    expect(h.causes[1]).toBe(
      'i-0abc: Process default has been unhealthy for 3 minutes (Target.FailedHealthChecks).',
    );
  });

  it('reads instances while Updating only when health is below Ok: a normal update costs no extra call', async () => {
    updating('Pending', '2026-11-23T10:01:30.000Z');

    const h = await handler({ phase: 'deploy', release: release(), deploy, health: watchStart }, context);

    expect(h.verdict).toBe('wait');
    expect(mocks.eb).toHaveReceivedCommandTimes(DescribeInstancesHealthCommand, 0);
  });

  it('never aborts the rollback: its watch has no early abort', async () => {
    updating('Severe', '2026-11-23T10:12:00.000Z');
    const rollback = {
      fromVersion: LABEL,
      toVersion: LABEL,
      startedAt: '2026-11-23T10:06:10.000Z',
      firstPollSeconds: 15,
    };
    const red: HealthProgress = { ...watchStart, polls: 10, redSince: '2026-11-23T10:06:30.000Z' };

    const h = await handler(
      {
        phase: 'rollback',
        release: release({ versionLabel: 'v11-abc' }),
        deploy,
        health: baking,
        rollback,
        rollbackHealth: red,
      },
      context,
    );

    expect(h.verdict).toBe('wait');
  });
});
