import {
  DescribeAccountAttributesCommand,
  DescribeApplicationsCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
  ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.js';
import type { Target } from '../../../lib/config/schema.js';
import { inspectEnvironment } from '../../../lib/preflight/environment.js';

const eb = mockClient(ElasticBeanstalkClient);
const client = new ElasticBeanstalkClient({});
const seeds = loadConfig(new URL('../../fixtures/seeds/ebship.yml', import.meta.url).pathname);
const antenna = seeds.targets['antenna-prod'] as Target; // platform: ecs
const treasury = seeds.targets['treasury-plane-dev'] as Target; // platform: docker

const ECS_STACK = '64bit Amazon Linux 2023 v4.4.3 running ECS';
const ECS_ARN = 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.4.3';
const DOCKER_ARN =
  'arn:aws:elasticbeanstalk:us-east-1::platform/Docker running on 64bit Amazon Linux 2023/4.4.3';

function versions(n: number) {
  return Array.from({ length: n }, (_, i) => ({ ApplicationName: 'antenna', VersionLabel: `v${i}` }));
}

/** A healthy ECS environment with room for versions; each test changes one thing. */
function healthyEcs() {
  eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        EnvironmentName: 'antenna-prod',
        Status: 'Ready',
        SolutionStackName: ECS_STACK,
        PlatformArn: ECS_ARN,
      },
    ],
  });
  eb.on(DescribeConfigurationSettingsCommand).resolves({
    ConfigurationSettings: [
      {
        OptionSettings: [
          {
            Namespace: 'aws:elasticbeanstalk:healthreporting:system',
            OptionName: 'SystemType',
            Value: 'enhanced',
          },
        ],
      },
    ],
  });
  eb.on(DescribeAccountAttributesCommand).resolves({
    ResourceQuotas: { ApplicationVersionQuota: { Maximum: 1000 } },
  });
  eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: versions(120) });
  eb.on(DescribeApplicationsCommand).resolves({ Applications: [{ ApplicationName: 'antenna' }] });
}

beforeEach(() => {
  eb.reset();
});

describe('inspectEnvironment', () => {
  it('passes a live ECS environment with enhanced health and quota headroom', async () => {
    // Arrange
    healthyEcs();

    // Act
    const findings = await inspectEnvironment(client, antenna);

    // Assert
    expect(findings).toEqual([]);
    expect(eb).toReceiveCommandWith(DescribeEnvironmentsCommand, {
      ApplicationName: 'antenna',
      EnvironmentNames: ['antenna-prod'],
    });
  });

  it('reports an environment that does not exist, and stops there', async () => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({ Environments: [] });

    const findings = await inspectEnvironment(client, antenna);

    expect(findings.map((f) => f.ruleId)).toEqual(['environment-not-found']);
    expect(findings[0]?.message).toContain('antenna/antenna-prod');
    expect(eb).not.toReceiveCommand(DescribeConfigurationSettingsCommand);
  });

  it('reports a terminated environment', async () => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [{ EnvironmentName: 'antenna-prod', Status: 'Terminated', SolutionStackName: ECS_STACK }],
    });

    const findings = await inspectEnvironment(client, antenna);

    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['environment-terminated', 'error']]);
  });

  it('uses the live environment when a terminated one of the same name is still listed', async () => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        { EnvironmentName: 'antenna-prod', Status: 'Terminated', SolutionStackName: ECS_STACK },
        { EnvironmentName: 'antenna-prod', Status: 'Ready', PlatformArn: ECS_ARN },
      ],
    });

    expect(await inspectEnvironment(client, antenna)).toEqual([]);
  });

  it.each([
    ['an ECS target on the Docker platform', antenna, { PlatformArn: DOCKER_ARN }],
    ['a Docker target on the ECS platform', treasury, { PlatformArn: ECS_ARN, SolutionStackName: ECS_STACK }],
    [
      'a Docker target on the Python platform',
      treasury,
      { SolutionStackName: '64bit Amazon Linux 2023 v4.3.0 running Python 3.12' },
    ],
  ])('reports %s', async (_, target, platform) => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({ Environments: [{ Status: 'Ready', ...platform }] });

    const findings = await inspectEnvironment(client, target);

    expect(findings.map((f) => f.ruleId)).toEqual(['environment-platform-mismatch']);
  });

  it('accepts a Docker target on the Docker platform', async () => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [{ Status: 'Ready', SolutionStackName: '64bit Amazon Linux 2023 v4.4.3 running Docker' }],
    });

    expect(await inspectEnvironment(client, treasury)).toEqual([]);
  });

  it('reports basic health reporting, which hides each instance version', async () => {
    healthyEcs();
    eb.on(DescribeConfigurationSettingsCommand).resolves({
      ConfigurationSettings: [
        {
          OptionSettings: [
            {
              Namespace: 'aws:elasticbeanstalk:healthreporting:system',
              OptionName: 'SystemType',
              Value: 'basic',
            },
          ],
        },
      ],
    });

    const findings = await inspectEnvironment(client, antenna);

    expect(findings.map((f) => f.ruleId)).toEqual(['environment-basic-health']);
    expect(findings[0]?.fix).toContain('SystemType');
  });

  it('counts versions of every application across pages and errs at the quota, naming the lifecycle setting', async () => {
    // Arrange: 1000 of 1000, in two pages; the lifecycle policy is off.
    healthyEcs();
    eb.on(DescribeApplicationVersionsCommand)
      .resolvesOnce({ ApplicationVersions: versions(600), NextToken: 'page-2' })
      .resolvesOnce({ ApplicationVersions: versions(400) });

    // Act
    const findings = await inspectEnvironment(client, antenna);

    // Assert
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['version-quota-reached', 'error']]);
    expect(findings[0]?.message).toContain('1000');
    expect(findings[0]?.fix).toContain('MaxCountRule');
    expect(eb).toReceiveCommandWith(DescribeApplicationVersionsCommand, { NextToken: 'page-2' });
    expect(eb).not.toReceiveCommandWith(DescribeApplicationVersionsCommand, { ApplicationName: 'antenna' });
  });

  it('warns near a lower account quota, and says other applications hold the versions when the lifecycle is on', async () => {
    healthyEcs();
    eb.on(DescribeAccountAttributesCommand).resolves({
      ResourceQuotas: { ApplicationVersionQuota: { Maximum: 500 } },
    });
    eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: versions(490) });
    eb.on(DescribeApplicationsCommand).resolves({
      Applications: [
        {
          ApplicationName: 'antenna',
          ResourceLifecycleConfig: {
            VersionLifecycleConfig: { MaxCountRule: { Enabled: true, MaxCount: 200 } },
          },
        },
      ],
    });

    const findings = await inspectEnvironment(client, antenna);

    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['version-quota-near', 'warning']]);
    expect(findings[0]?.message).toContain('10 deploys left');
    expect(findings[0]?.fix).toContain('other applications');
  });

  it('still names the lifecycle setting when it may not read the application', async () => {
    healthyEcs();
    eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: versions(995) });
    eb.on(DescribeApplicationsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: elasticbeanstalk:DescribeApplications'), {
        name: 'AccessDenied',
      }),
    );

    const findings = await inspectEnvironment(client, antenna);

    expect(findings[0]?.fix).toContain('ResourceLifecycleConfig.VersionLifecycleConfig.MaxCountRule');
  });

  it('calls nothing that changes the environment', async () => {
    healthyEcs();
    await inspectEnvironment(client, antenna);
    const names = eb.calls().map((c) => c.args[0].constructor.name);
    expect(names.every((n) => n.startsWith('Describe'))).toBe(true);
  });
});

describe('platform names as EB reports them', () => {
  it.each([
    ['a solution stack name', { SolutionStackName: '64bit Amazon Linux 2023 v4.4.3 running ECS' }],
    [
      'a platform ARN',
      {
        PlatformArn:
          'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.4.3',
      },
    ],
    [
      'the retired multi-container stack',
      {
        SolutionStackName:
          '64bit Amazon Linux 2018.03 v2.26.0 running Multi-container Docker 19.03.13-ce (Generic)',
      },
    ],
  ])('recognises the ECS platform from %s', async (_, platform) => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({ Environments: [{ Status: 'Ready', ...platform }] });

    expect(await inspectEnvironment(client, antenna)).toEqual([]);
  });

  it('warns, without blocking, when the environment reports no platform', async () => {
    healthyEcs();
    eb.on(DescribeEnvironmentsCommand).resolves({ Environments: [{ Status: 'Ready' }] });

    const findings = await inspectEnvironment(client, antenna);

    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['environment-platform-unknown', 'warning'],
    ]);
  });
});
