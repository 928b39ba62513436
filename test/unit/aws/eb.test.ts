import {
  AbortEnvironmentUpdateCommand,
  type ApplicationVersionStatus,
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  ElasticBeanstalkClient,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  abortUpdate,
  createVersion,
  getEnvironment,
  healthSnapshot,
  isMustBeReady,
  requestUpdate,
} from '../../../lib/aws/eb.js';
import { EnvironmentNotFound } from '../../../lib/errors.js';

const client = new ElasticBeanstalkClient({ region: 'us-east-1' });
const ebMock = mockClient(ElasticBeanstalkClient);
// EB answers some statuses upper-cased although the model lists them capitalised (EB API model, ApplicationVersionStatus).
const UPPER_PROCESSING = 'PROCESSING' as ApplicationVersionStatus;
const ref = { application: 'antenna', environment: 'antenna-prod' };

// The SDK raises service errors with the error code as `name`; that is all the code under test reads.
function ebError(name: string, message: string) {
  return Object.assign(new Error(message), { name });
}

beforeEach(() => ebMock.reset());

describe('getEnvironment', () => {
  it('ignores terminated environments and says how to fix the target', async () => {
    ebMock
      .on(DescribeEnvironmentsCommand)
      .resolves({ Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Terminated' }] });
    await expect(getEnvironment(client, ref)).rejects.toThrow(EnvironmentNotFound);
    await expect(getEnvironment(client, ref)).rejects.toThrow('fix application/environment in ebship.yml');
  });
});

describe('createVersion', () => {
  it('creates the version with Process=true so EB validates the bundle first', async () => {
    ebMock.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
    ebMock
      .on(CreateApplicationVersionCommand)
      .resolves({ ApplicationVersion: { VersionLabel: 'v10-abc', Status: UPPER_PROCESSING } });
    const out = await createVersion(client, {
      application: 'antenna',
      label: 'v10-abc',
      description: 'd',
      bucket: 'b',
      key: 'k.zip',
    });
    expect(out).toEqual({
      info: { label: 'v10-abc', status: 'processing', description: undefined },
      reused: false,
    });
    expect(ebMock).toHaveReceivedCommandWith(CreateApplicationVersionCommand, {
      ApplicationName: 'antenna',
      VersionLabel: 'v10-abc',
      Process: true,
      SourceBundle: { S3Bucket: 'b', S3Key: 'k.zip' },
    });
  });

  it('reuses an existing version of the same label instead of failing', async () => {
    ebMock
      .on(DescribeApplicationVersionsCommand)
      .resolves({ ApplicationVersions: [{ VersionLabel: 'v10-abc', Status: 'Processed' }] });
    const out = await createVersion(client, {
      application: 'antenna',
      label: 'v10-abc',
      description: 'd',
      bucket: 'b',
      key: 'k',
    });
    expect(out.reused).toBe(true);
    expect(out.info.status).toBe('processed');
    expect(ebMock).not.toHaveReceivedCommand(CreateApplicationVersionCommand);
  });

  it('reuses the version when another execution created it first', async () => {
    ebMock
      .on(DescribeApplicationVersionsCommand)
      .resolvesOnce({ ApplicationVersions: [] })
      .resolves({ ApplicationVersions: [{ VersionLabel: 'v10-abc', Status: UPPER_PROCESSING }] });
    ebMock
      .on(CreateApplicationVersionCommand)
      .rejects(ebError('InvalidParameterValue', 'Application Version v10-abc already exists.'));
    const out = await createVersion(client, {
      application: 'antenna',
      label: 'v10-abc',
      description: 'd',
      bucket: 'b',
      key: 'k',
    });
    expect(out.reused).toBe(true);
  });
});

describe('requestUpdate and isMustBeReady', () => {
  it('recognises "Must be Ready", EB\'s refusal while another update runs', async () => {
    ebMock
      .on(UpdateEnvironmentCommand)
      .rejects(
        ebError(
          'InvalidParameterValue',
          'Environment named antenna-prod is in an invalid state for this operation. Must be Ready.',
        ),
      );
    const err = await requestUpdate(client, ref, 'v10-abc').catch((e: unknown) => e);
    expect(isMustBeReady(err)).toBe(true);
    expect(isMustBeReady(ebError('InvalidParameterValue', 'No Application Version named v10-abc'))).toBe(
      false,
    );
  });

  it('passes EB errors through unchanged', async () => {
    ebMock.on(UpdateEnvironmentCommand).rejects(ebError('InsufficientPrivilegesException', 'no'));
    await expect(requestUpdate(client, ref, 'v10-abc')).rejects.toMatchObject({
      name: 'InsufficientPrivilegesException',
    });
  });
});

describe('abortUpdate', () => {
  it('aborts only an environment that is still Updating', async () => {
    ebMock
      .on(DescribeEnvironmentsCommand)
      .resolves({ Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Ready' }] });
    expect(await abortUpdate(client, ref)).toBe(false);
    ebMock
      .on(DescribeEnvironmentsCommand)
      .resolves({ Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Updating' }] });
    expect(await abortUpdate(client, ref)).toBe(true);
    expect(ebMock).toHaveReceivedCommandTimes(AbortEnvironmentUpdateCommand, 1);
  });
});

describe('healthSnapshot', () => {
  it('reads every page of instance health and only events since the update', async () => {
    ebMock.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        { EnvironmentName: 'antenna-prod', Status: 'Ready', Health: 'Green', VersionLabel: 'v10-abc' },
      ],
    });
    ebMock.on(DescribeEnvironmentHealthCommand).resolves({
      Color: 'Red',
      HealthStatus: 'Severe',
      Causes: ['ELB health is failing'],
      RefreshedAt: new Date('2026-11-23T10:05:00Z'),
    });
    ebMock
      .on(DescribeInstancesHealthCommand)
      .resolvesOnce({
        InstanceHealthList: [
          { InstanceId: 'i-1', Deployment: { VersionLabel: 'v10-abc', Status: 'Deployed' } },
        ],
        NextToken: 'p2',
      })
      .resolvesOnce({
        InstanceHealthList: [
          { InstanceId: 'i-2', Deployment: { VersionLabel: 'v9-def', Status: 'Failed' }, Causes: ['boom'] },
        ],
      });
    ebMock.on(DescribeEventsCommand).resolves({
      Events: [
        {
          EventDate: new Date('2026-11-23T10:04:00Z'),
          Severity: 'ERROR',
          Message: 'Failed to deploy application.',
        },
        {
          EventDate: new Date('2026-11-23T10:01:00Z'),
          Severity: 'INFO',
          Message: 'Environment update is starting.',
        },
      ],
    });
    const s = await healthSnapshot(client, ref, '2026-11-23T10:00:00.000Z');
    expect(s).toMatchObject({
      now: '2026-11-23T10:05:00.000Z',
      status: 'Ready',
      color: 'Red',
      healthStatus: 'Severe',
      versionLabel: 'v10-abc',
    });
    expect(s.instances.map((i) => [i.id, i.deploymentStatus])).toEqual([
      ['i-1', 'Deployed'],
      ['i-2', 'Failed'],
    ]);
    expect(s.instances[1]?.causes).toEqual(['i-2: boom']);
    expect(s.events.map((e) => e.message)).toEqual([
      'Environment update is starting.',
      'Failed to deploy application.',
    ]);
    expect(ebMock).toHaveReceivedCommandWith(DescribeEventsCommand, {
      StartTime: new Date('2026-11-23T10:00:00.000Z'),
    });
  });

  it('costs two Describe calls while Updating, so many watched environments stay under EB throttling', async () => {
    ebMock.on(DescribeEnvironmentHealthCommand).resolves({
      Status: 'Updating' as never,
      Color: 'Grey',
      HealthStatus: 'Pending',
      RefreshedAt: new Date(),
    });
    ebMock.on(DescribeEventsCommand).resolves({ Events: [] });
    const s = await healthSnapshot(client, ref, '2026-11-23T10:00:00.000Z');
    expect(s.status).toBe('Updating');
    expect(ebMock.calls()).toHaveLength(2);
    expect(ebMock).not.toHaveReceivedCommand(DescribeEnvironmentsCommand);
    expect(ebMock).not.toHaveReceivedCommand(DescribeInstancesHealthCommand);
  });

  it('takes the full look when health reports a status it does not know, such as a colour', async () => {
    ebMock
      .on(DescribeEnvironmentHealthCommand)
      .resolves({ Status: 'Green', Color: 'Green', HealthStatus: 'Ok', RefreshedAt: new Date() });
    ebMock.on(DescribeEventsCommand).resolves({ Events: [] });
    ebMock.on(DescribeEnvironmentsCommand).resolves({
      Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Ready', VersionLabel: 'v10' }],
    });
    ebMock.on(DescribeInstancesHealthCommand).resolves({ InstanceHealthList: [] });
    const s = await healthSnapshot(client, ref, '2026-11-23T10:00:00.000Z');
    expect(s).toMatchObject({ status: 'Ready', versionLabel: 'v10' });
  });

  it('falls back to the basic colour when enhanced health is off', async () => {
    ebMock
      .on(DescribeEnvironmentsCommand)
      .resolves({ Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Ready', Health: 'Yellow' }] });
    ebMock
      .on(DescribeEnvironmentHealthCommand)
      .rejects(ebError('InvalidRequestException', 'enhanced health not enabled'));
    ebMock
      .on(DescribeInstancesHealthCommand)
      .rejects(ebError('InvalidRequestException', 'enhanced health not enabled'));
    ebMock.on(DescribeEventsCommand).resolves({ Events: [] });
    const s = await healthSnapshot(client, ref, '2026-11-23T10:00:00.000Z');
    expect(s.color).toBe('Yellow');
    expect(s.instances).toEqual([]);
  });
});
