import {
  DescribeAccountAttributesCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentResourcesCommand,
  DescribeEnvironmentsCommand,
  DescribePlatformVersionCommand,
  ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { cli } from './harness.js';

/**
 * `ebship doctor` against client mocks shaped like the EB and SSM API answers (API reference:
 * DescribeEnvironments OperationsRole/PlatformArn, DescribePlatformVersion DateCreated,
 * DescribeInstanceInformation PingStatus). Read-only: no mutating call may be made.
 */

const eb = mockClient(ElasticBeanstalkClient);
const ssm = mockClient(SSMClient);
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ebship-prod-eb-operations`;
const PLATFORM = 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.5.0';

interface Account {
  operationsRole?: string;
  systemType?: string;
  platformDate?: Date;
  online?: string[];
}

function account(a: Account = {}): void {
  eb.on(DescribeEnvironmentsCommand).callsFake(
    (input: { ApplicationName: string; EnvironmentNames: string[] }) => ({
      Environments: [
        {
          EnvironmentName: input.EnvironmentNames[0],
          ApplicationName: input.ApplicationName,
          EnvironmentArn: `arn:aws:elasticbeanstalk:us-east-1:${ACCOUNT}:environment/${input.ApplicationName}/${input.EnvironmentNames[0]}`,
          Status: 'Ready',
          PlatformArn: PLATFORM,
          OperationsRole: a.operationsRole,
        },
      ],
    }),
  );
  eb.on(DescribeConfigurationSettingsCommand).resolves({
    ConfigurationSettings: [
      {
        OptionSettings: [
          {
            Namespace: 'aws:elasticbeanstalk:healthreporting:system',
            OptionName: 'SystemType',
            Value: a.systemType ?? 'enhanced',
          },
        ],
      },
    ],
  });
  eb.on(DescribeAccountAttributesCommand).resolves({
    ResourceQuotas: { ApplicationVersionQuota: { Maximum: 1000 } },
  });
  eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
  eb.on(DescribePlatformVersionCommand).resolves({
    PlatformDescription: {
      PlatformArn: PLATFORM,
      DateCreated: a.platformDate ?? new Date('2025-09-01T00:00:00Z'),
    },
  });
  eb.on(DescribeEnvironmentResourcesCommand).resolves({
    EnvironmentResources: { Instances: [{ Id: 'i-0aaa' }, { Id: 'i-0bbb' }] },
  });
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: (a.online ?? ['i-0aaa', 'i-0bbb']).map((id) => ({
      InstanceId: id,
      PingStatus: 'Online',
    })),
  });
}

beforeEach(() => {
  eb.reset();
  ssm.reset();
});

describe('ebship doctor', () => {
  it('passes a ready account, read-only', async () => {
    account({ operationsRole: ROLE });

    const r = await cli(['doctor', 'antenna-prod', '--stage', 'prod']);

    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toMatch(/ok {3}enhanced-health/);
    expect(r.stdout).toMatch(/ok {3}operations-role/);
    expect(r.stdout).toMatch(/ok {3}platform-environmentsecrets/);
    expect(r.stdout).toMatch(/ok {3}ssm-managed: all 2 instance/);
    const mutating = eb.calls().filter((c) => !/^(Describe|List)/.test(c.args[0].constructor.name));
    expect(mutating).toEqual([]);
  });

  it('names the fix as a command for each failed check, and exits 1', async () => {
    account({ systemType: 'basic', platformDate: new Date('2024-11-01T00:00:00Z'), online: ['i-0aaa'] });

    const r = await cli(['doctor', 'antenna-prod', '--stage', 'prod']);

    expect(r.code).toBe(ExitCode.Findings);
    expect(r.stdout).toContain(
      'fix: aws elasticbeanstalk update-environment --environment-name antenna-prod --option-settings Namespace=aws:elasticbeanstalk:healthreporting:system,OptionName=SystemType,Value=enhanced',
    );
    expect(r.stdout).toContain(
      `fix: aws elasticbeanstalk associate-environment-operations-role --environment-name antenna-prod --operations-role ${ROLE}`,
    );
    expect(r.stdout).toMatch(/FAIL platform-environmentsecrets: .*released 2024-11-01/);
    expect(r.stdout).toMatch(/FAIL ssm-managed: instance\(s\) i-0bbb are not SSM-managed/);
    expect(r.stdout).toContain('AmazonSSMManagedInstanceCore');
  });

  it('reports every target as JSON', async () => {
    account({ operationsRole: 'arn:aws:iam::123456789012:role/someone-else' });

    const r = await cli(['doctor', '--stage', 'prod', '--json']);

    const out = r.json<{
      targets: { target: string; checks: { id: string; ok: boolean; fix?: string }[] }[];
    }>();
    expect(out.targets.map((t) => t.target)).toEqual(['antenna-prod', 'treasury-plane-dev']);
    const role = out.targets[0]?.checks.find((c) => c.id === 'operations-role');
    expect(role).toMatchObject({
      ok: false,
      fix: expect.stringContaining('associate-environment-operations-role'),
    });
  });
});
