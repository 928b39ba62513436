import {
  AbortEnvironmentUpdateCommand,
  CreateApplicationVersionCommand,
  DescribeAccountAttributesCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentHealthCommand,
  DescribeEnvironmentResourcesCommand,
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  DescribeInstancesHealthCommand,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import type { EbEnvironmentSpec, UpdateBehaviour } from '../../standin/services/elastic-beanstalk.js';
import { clientsFor, rejection } from './clients.js';

let standin: Standin | undefined;
afterEach(() => standin?.close());

/** A stand-in whose clock the test moves by hand, so timings are exact and need no waiting. */
function manualClock(): Clock & { advance(seconds: number): void } {
  let now = Date.parse('2026-03-02T10:00:00Z');
  const base = createClock(1, now);
  return {
    ...base,
    now: () => now,
    advance: (seconds: number) => {
      now += seconds * 1000;
    },
  };
}

function antenna(onUpdate: UpdateBehaviour[], instances = 1): EbEnvironmentSpec {
  return {
    application: 'antenna',
    environment: 'antenna-prod',
    versionLabel: 'v1.0.0-aaaaaaa',
    instances,
    platformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.4.0',
    solutionStackName: '64bit Amazon Linux 2023 v4.4.0 running ECS',
    optionSettings: [
      { Namespace: 'aws:elasticbeanstalk:command', OptionName: 'DeploymentPolicy', Value: 'AllAtOnce' },
    ],
    onUpdate,
  };
}

async function setUp(
  onUpdate: UpdateBehaviour[],
  opts: { instances?: number; eb?: Parameters<typeof startStandin>[0] } = {},
) {
  const clock = manualClock();
  standin = await startStandin({ clock, ...opts.eb });
  standin.world.eb.addEnvironment(antenna(onUpdate, opts.instances));
  standin.world.eb.addVersion('antenna', 'v1.1.0-bbbbbbb');
  return { clock, aws: clientsFor(standin.endpoint), world: standin.world };
}

const healthy: UpdateBehaviour = { durationSeconds: 240, result: 'deployed', health: [] };

describe('UpdateEnvironment lifecycle', () => {
  // The EB API reference's UpdateEnvironment example answer (botocore examples-1.json) shows the NEW
  // VersionLabel with Status Updating and Health Grey.
  it('goes Updating/Grey on the new label at once, then Ready/Green on every instance', async () => {
    const { clock, aws } = await setUp([healthy], { instances: 2 });

    const answer = await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(60);
    const during = await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));
    clock.advance(200);
    const after = await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));
    const instances = await aws.eb.send(
      new DescribeInstancesHealthCommand({ EnvironmentName: 'antenna-prod', AttributeNames: ['All'] }),
    );

    expect(answer).toMatchObject({ Status: 'Updating', Health: 'Grey', VersionLabel: 'v1.1.0-bbbbbbb' });
    expect(during.Environments?.[0]).toMatchObject({
      Status: 'Updating',
      Health: 'Grey',
      VersionLabel: 'v1.1.0-bbbbbbb',
    });
    expect(after.Environments?.[0]).toMatchObject({
      Status: 'Ready',
      Health: 'Green',
      VersionLabel: 'v1.1.0-bbbbbbb',
    });
    expect(instances.InstanceHealthList?.map((i) => i.Deployment?.VersionLabel)).toEqual([
      'v1.1.0-bbbbbbb',
      'v1.1.0-bbbbbbb',
    ]);
    expect(instances.InstanceHealthList?.[0]?.Deployment?.Status).toBe('Deployed');
  });

  it('refuses an update unless the environment is Ready, with EB error and text', async () => {
    const { aws } = await setUp([healthy]);
    await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );

    const err = await rejection(
      aws.eb.send(
        new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
      ),
    );

    expect(err.name).toBe('InvalidParameterValue');
    expect(err.message).toBe(
      'Environment named antenna-prod is in an invalid state for this operation. Must be Ready.',
    );
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('reports Red health, its causes and EB events after a bad deploy', async () => {
    const red: UpdateBehaviour = {
      durationSeconds: 120,
      result: 'deployed',
      health: [
        { afterSeconds: 0, color: 'Green' },
        { afterSeconds: 30, color: 'Red', causes: ['100.0 % of the requests are failing with HTTP 5xx.'] },
      ],
    };
    const { clock, aws } = await setUp([red]);
    const start = new Date(clock.now());
    await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(200);

    const health = await aws.eb.send(
      new DescribeEnvironmentHealthCommand({ EnvironmentName: 'antenna-prod', AttributeNames: ['All'] }),
    );
    const events = await aws.eb.send(
      new DescribeEventsCommand({ EnvironmentName: 'antenna-prod', StartTime: start }),
    );
    const warnings = await aws.eb.send(
      new DescribeEventsCommand({ EnvironmentName: 'antenna-prod', StartTime: start, Severity: 'WARN' }),
    );

    expect(health).toMatchObject({ Status: 'Ready', Color: 'Red', HealthStatus: 'Severe' });
    expect(health.Causes).toEqual(['100.0 % of the requests are failing with HTTP 5xx.']);
    expect(health.InstancesHealth?.Severe).toBe(1);
    expect(health.RefreshedAt).toBeInstanceOf(Date);
    // Newest first, as EB lists them.
    expect(events.Events?.map((e) => e.Message)).toEqual([
      'Environment health has transitioned from Ok to Severe. 100.0 % of the requests are failing with HTTP 5xx.',
      'Environment update completed successfully.',
      'New application version was deployed to running EC2 instances.',
      'Environment update is starting.',
    ]);
    expect(warnings.Events?.map((e) => e.Severity)).toEqual(['WARN']);
  });

  it('ends Ready on the previous version when the deploy fails and EB reverts', async () => {
    const { clock, aws } = await setUp([{ durationSeconds: 180, result: 'reverted', health: [] }]);
    await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(181);

    const env = await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));
    const errors = await aws.eb.send(
      new DescribeEventsCommand({
        EnvironmentName: 'antenna-prod',
        Severity: 'ERROR',
        VersionLabel: 'v1.1.0-bbbbbbb',
      }),
    );

    expect(env.Environments?.[0]).toMatchObject({
      Status: 'Ready',
      Health: 'Green',
      VersionLabel: 'v1.0.0-aaaaaaa',
    });
    expect(errors.Events?.map((e) => e.Message)).toContain('Failed to deploy application.');
  });

  it('stays Updating when stuck until AbortEnvironmentUpdate restores the previous version', async () => {
    const { clock, aws } = await setUp([{ durationSeconds: 0, result: 'stuck', health: [] }]);
    await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(3600);
    const stuck = await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));

    await aws.eb.send(new AbortEnvironmentUpdateCommand({ EnvironmentName: 'antenna-prod' }));
    clock.advance(60);
    const after = await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));

    expect(stuck.Environments?.[0]).toMatchObject({
      Status: 'Updating',
      Health: 'Grey',
      AbortableOperationInProgress: true,
    });
    expect(after.Environments?.[0]).toMatchObject({ Status: 'Ready', VersionLabel: 'v1.0.0-aaaaaaa' });
  });

  it('pages DescribeInstancesHealth and shows the instance a partial deploy left behind', async () => {
    const { clock, aws } = await setUp([{ durationSeconds: 60, result: 'partial', health: [] }], {
      instances: 2,
      eb: { eb: { instancesPageSize: 1 } },
    });
    await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(61);

    const first = await aws.eb.send(
      new DescribeInstancesHealthCommand({ EnvironmentName: 'antenna-prod', AttributeNames: ['Deployment'] }),
    );
    const second = await aws.eb.send(
      new DescribeInstancesHealthCommand({
        EnvironmentName: 'antenna-prod',
        AttributeNames: ['Deployment'],
        NextToken: first.NextToken,
      }),
    );

    expect(first.InstanceHealthList).toHaveLength(1);
    expect(first.NextToken).toBeTruthy();
    expect(second.NextToken).toBeUndefined();
    expect(second.InstanceHealthList?.[0]?.Deployment).toMatchObject({
      VersionLabel: 'v1.0.0-aaaaaaa',
      Status: 'Failed',
    });
  });
});

describe('application versions', () => {
  function bundle(files: Record<string, string>): Uint8Array {
    return zipSync(
      Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new TextEncoder().encode(v)])),
    );
  }

  it('processes a valid bundle from S3 to Processed', async () => {
    const { clock, aws, world } = await setUp([healthy]);
    world.s3.createBucket('bundles');
    world.s3.put(
      'bundles',
      'antenna/v2.zip',
      Buffer.from(
        bundle({
          'Dockerrun.aws.json': '{"AWSEBDockerrunVersion":2}',
          '.ebextensions/00.config': 'option_settings: {}',
        }),
      ),
    );

    const created = await aws.eb.send(
      new CreateApplicationVersionCommand({
        ApplicationName: 'antenna',
        VersionLabel: 'v2',
        SourceBundle: { S3Bucket: 'bundles', S3Key: 'antenna/v2.zip' },
        Process: true,
      }),
    );
    clock.advance(30);
    const described = await aws.eb.send(
      new DescribeApplicationVersionsCommand({ ApplicationName: 'antenna', VersionLabels: ['v2'] }),
    );

    expect(created.ApplicationVersion?.Status).toBe('Processing');
    expect(described.ApplicationVersions?.[0]?.Status).toBe('Processed');
  });

  it('fails processing when an .ebextensions file is not YAML', async () => {
    const { clock, aws, world } = await setUp([healthy]);
    world.s3.createBucket('bundles');
    world.s3.put(
      'bundles',
      'bad.zip',
      Buffer.from(
        bundle({ 'Dockerrun.aws.json': '{}', '.ebextensions/01.config': 'option_settings:\n  - [unclosed' }),
      ),
    );

    await aws.eb.send(
      new CreateApplicationVersionCommand({
        ApplicationName: 'antenna',
        VersionLabel: 'bad',
        SourceBundle: { S3Bucket: 'bundles', S3Key: 'bad.zip' },
        Process: true,
      }),
    );
    clock.advance(30);
    const described = await aws.eb.send(
      new DescribeApplicationVersionsCommand({ ApplicationName: 'antenna', VersionLabels: ['bad'] }),
    );

    expect(described.ApplicationVersions?.[0]?.Status).toBe('Failed');
  });

  it('enforces the application version quota it reports', async () => {
    const { aws } = await setUp([healthy], { eb: { eb: { versionQuota: 2 } } });

    const attributes = await aws.eb.send(new DescribeAccountAttributesCommand({}));
    const err = await rejection(
      aws.eb.send(new CreateApplicationVersionCommand({ ApplicationName: 'antenna', VersionLabel: 'v3' })),
    );

    expect(attributes.ResourceQuotas?.ApplicationVersionQuota?.Maximum).toBe(2);
    expect(err.name).toBe('TooManyApplicationVersionsException');
  });
});

describe('environment details and throttling', () => {
  it('describes resources and configuration settings', async () => {
    const { aws } = await setUp([healthy]);
    const resources = await aws.eb.send(
      new DescribeEnvironmentResourcesCommand({ EnvironmentName: 'antenna-prod' }),
    );
    const config = await aws.eb.send(
      new DescribeConfigurationSettingsCommand({
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
      }),
    );
    expect(resources.EnvironmentResources?.Instances).toHaveLength(1);
    expect(config.ConfigurationSettings?.[0]?.OptionSettings).toContainEqual({
      Namespace: 'aws:elasticbeanstalk:command',
      OptionName: 'DeploymentPolicy',
      Value: 'AllAtOnce',
    });
  });

  it('answers a Describe burst past the bucket with Throttling "Rate exceeded"', async () => {
    const { aws } = await setUp([healthy], { eb: { eb: { throttleRate: 2, throttleBurst: 15 } } });

    const results = await Promise.allSettled(
      Array.from({ length: 16 }, () =>
        aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] })),
      ),
    );

    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.reason).toMatchObject({ name: 'Throttling', message: 'Rate exceeded' });
    expect(failures[0]?.reason.$metadata.httpStatusCode).toBe(400);
  });
});

// EB API reference, DescribeEnvironmentHealth / DescribeInstancesHealth: AttributeNames "Specifies the
// response elements you wish to receive. To retrieve all attributes, set to All. If no attribute names
// are specified, returns the name of the environment" (resp. "a list of instances").
describe('AttributeNames', () => {
  it('DescribeEnvironmentHealth returns only what was asked for', async () => {
    const { aws } = await setUp([healthy]);
    const color = await aws.eb.send(
      new DescribeEnvironmentHealthCommand({ EnvironmentName: 'antenna-prod', AttributeNames: ['Color'] }),
    );
    const none = await aws.eb.send(new DescribeEnvironmentHealthCommand({ EnvironmentName: 'antenna-prod' }));
    const all = await aws.eb.send(
      new DescribeEnvironmentHealthCommand({ EnvironmentName: 'antenna-prod', AttributeNames: ['All'] }),
    );

    expect(color).toMatchObject({ EnvironmentName: 'antenna-prod', Color: 'Green' });
    expect(color.HealthStatus).toBeUndefined();
    expect(color.InstancesHealth).toBeUndefined();
    expect([none.EnvironmentName, none.Color, none.Status, none.Causes]).toEqual([
      'antenna-prod',
      undefined,
      undefined,
      undefined,
    ]);
    expect(all).toMatchObject({ Color: 'Green', HealthStatus: 'Ok', Status: 'Ready' });
  });

  it('DescribeInstancesHealth returns only what was asked for', async () => {
    const { aws } = await setUp([healthy]);
    const health = await aws.eb.send(
      new DescribeInstancesHealthCommand({
        EnvironmentName: 'antenna-prod',
        AttributeNames: ['HealthStatus'],
      }),
    );
    const none = await aws.eb.send(new DescribeInstancesHealthCommand({ EnvironmentName: 'antenna-prod' }));

    expect(health.InstanceHealthList?.[0]).toMatchObject({ HealthStatus: 'Ok' });
    expect(health.InstanceHealthList?.[0]?.Deployment).toBeUndefined();
    expect(health.InstanceHealthList?.[0]?.Color).toBeUndefined();
    expect(Object.keys(none.InstanceHealthList?.[0] ?? {})).toEqual(['InstanceId']);
  });
});

describe('a broken Docker configuration', () => {
  // CreateApplicationVersion's Process "validates the environment manifest (env.yaml) and
  // configuration files (*.config files in the .ebextensions folder)" (EB API reference): not Docker
  // configuration. The instances fail the deploy, and EB puts the previous version back.
  it("is Processed, then fails on the instances with EB's failure events and reverts", async () => {
    const { clock, aws, world } = await setUp([healthy]);
    world.s3.createBucket('bundles');
    world.s3.put(
      'bundles',
      'broken.zip',
      Buffer.from(
        zipSync({ 'Dockerrun.aws.json': new TextEncoder().encode('{"AWSEBDockerrunVersion": 2,') }),
      ),
    );
    await aws.eb.send(
      new CreateApplicationVersionCommand({
        ApplicationName: 'antenna',
        VersionLabel: 'broken',
        SourceBundle: { S3Bucket: 'bundles', S3Key: 'broken.zip' },
        Process: true,
      }),
    );
    clock.advance(30);
    const version = await aws.eb.send(
      new DescribeApplicationVersionsCommand({ ApplicationName: 'antenna', VersionLabels: ['broken'] }),
    );
    const update = await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'broken' }),
    );
    clock.advance(300);
    const after = await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));
    const events = await aws.eb.send(
      new DescribeEventsCommand({ EnvironmentName: 'antenna-prod', RequestId: update.$metadata.requestId }),
    );

    expect(version.ApplicationVersions?.[0]?.Status).toBe('Processed');
    expect(update).toMatchObject({ Status: 'Updating', VersionLabel: 'broken' });
    expect(after.Environments?.[0]).toMatchObject({ Status: 'Ready', VersionLabel: 'v1.0.0-aaaaaaa' });
    const messages = events.Events?.map((e) => e.Message) ?? [];
    expect(messages.some((m) => /Command failed on instance/.test(m ?? ''))).toBe(true);
    expect(messages).toContain('Failed to deploy application.');
    expect(
      messages.some((m) => m?.startsWith('Update environment operation is complete, but with errors.')),
    ).toBe(true);
  });
});

describe('events', () => {
  // DescribeEvents RequestId: "restricts the described events to include only those associated with
  // this request ID" (EB API reference); UpdateEnvironment's own RequestId is that ID.
  it('carry the RequestId of the UpdateEnvironment that caused them; RequestId and VersionLabel filter', async () => {
    const { clock, aws, world } = await setUp([healthy]);
    world.eb.addVersion('antenna', 'v1.2.0-ccccccc');
    const first = await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(300);
    const second = await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.2.0-ccccccc' }),
    );
    clock.advance(300);

    const byRequest = await aws.eb.send(
      new DescribeEventsCommand({ EnvironmentName: 'antenna-prod', RequestId: first.$metadata.requestId }),
    );
    const byLabel = await aws.eb.send(
      new DescribeEventsCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.2.0-ccccccc' }),
    );

    expect(first.$metadata.requestId).toBeTruthy();
    expect(byRequest.Events?.map((e) => e.Message)).toEqual([
      'Environment update completed successfully.',
      'New application version was deployed to running EC2 instances.',
      'Environment update is starting.',
    ]);
    expect(byRequest.Events?.every((e) => e.VersionLabel === 'v1.1.0-bbbbbbb')).toBe(true);
    expect(byLabel.Events?.every((e) => e.RequestId === second.$metadata.requestId)).toBe(true);
    expect(byLabel.Events).toHaveLength(3);
  });

  // EB sends "Elastic Beanstalk resource status change" and "Health status change" to EventBridge
  // (EventBridge events reference, Elastic Beanstalk; EB developer guide, EventBridge field mapping).
  it('reach EventBridge rules; a drop-events fault loses them', async () => {
    const { clock, aws, world } = await setUp([
      {
        durationSeconds: 60,
        result: 'deployed',
        health: [
          { afterSeconds: 0, color: 'Green' },
          { afterSeconds: 10, color: 'Red' },
        ],
      },
    ]);
    const topic = world.sns.createTopic('eb-events');
    world.rules.push({
      name: 'EbHealth',
      pattern: { source: ['aws.elasticbeanstalk'], 'detail-type': ['Health status change'] },
      targetArn: topic,
    });
    world.faults.add({
      fault: 'drop-events',
      detailType: 'Elastic Beanstalk resource status change',
      skip: 1,
    });
    await aws.eb.send(
      new UpdateEnvironmentCommand({ EnvironmentName: 'antenna-prod', VersionLabel: 'v1.1.0-bbbbbbb' }),
    );
    clock.advance(120);
    await aws.eb.send(new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }));

    const statuses = world.bus.events.map((e) => `${e['detail-type']}: ${String(e.detail.Status)}`);
    expect(statuses).toEqual([
      'Elastic Beanstalk resource status change: Environment update started',
      'Elastic Beanstalk resource status change: Environment update successful',
      'Health status change: Environment health changed',
    ]);
    expect(world.bus.dropped.map((e) => e.detail.Status)).toEqual(['Environment update successful']);
    const alert = JSON.parse(world.sns.published[0]?.message ?? '{}');
    expect(alert).toMatchObject({
      source: 'aws.elasticbeanstalk',
      'detail-type': 'Health status change',
      detail: { EnvironmentName: 'antenna-prod', ApplicationName: 'antenna', Severity: 'WARN' },
    });
    expect(alert.detail.Message).toMatch(/^Environment health has transitioned from Ok to Severe\./);
    expect(world.faults.fired.map((f) => f.fault)).toEqual(['drop-events']);
  });
});
