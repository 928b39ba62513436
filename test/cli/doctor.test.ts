import {
  DescribeAccountAttributesCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentResourcesCommand,
  DescribeEnvironmentsCommand,
  DescribePlatformVersionCommand,
  ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import {
  GetInstanceProfileCommand,
  IAMClient,
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandInput,
} from '@aws-sdk/client-iam';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ebship-prod-eb-operations`;
const PLATFORM = 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.5.0';

interface Account {
  /** Actions the simulator refuses, on any resource. */
  denied?: string[];
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
          {
            Namespace: 'aws:autoscaling:launchconfiguration',
            OptionName: 'IamInstanceProfile',
            Value: 'aws-elasticbeanstalk-ec2-role',
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
  secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => ({
    ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${input.SecretId}-AbCdEf`,
    Name: input.SecretId,
  }));
  iam.on(GetInstanceProfileCommand).resolves({
    InstanceProfile: {
      Path: '/',
      InstanceProfileName: 'aws-elasticbeanstalk-ec2-role',
      InstanceProfileId: 'AIPAEXAMPLE',
      Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/aws-elasticbeanstalk-ec2-role`,
      CreateDate: new Date(),
      Roles: [
        {
          Path: '/',
          RoleName: 'aws-elasticbeanstalk-ec2-role',
          RoleId: 'AROAEXAMPLE',
          Arn: `arn:aws:iam::${ACCOUNT}:role/aws-elasticbeanstalk-ec2-role`,
          CreateDate: new Date(),
        },
      ],
    },
  });
  // One EvaluationResult per action, each resource's decision in ResourceSpecificResults (IAM API
  // reference, EvaluationResult).
  iam.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
    EvaluationResults: (input.ActionNames ?? []).map((action) => {
      const decision = a.denied?.includes(action) ? 'implicitDeny' : 'allowed';
      return {
        EvalActionName: action,
        EvalDecision: decision,
        ResourceSpecificResults: (input.ResourceArns ?? ['*']).map((r) => ({
          EvalResourceName: r,
          EvalResourceDecision: decision,
        })),
      };
    }),
    IsTruncated: false,
  }));
}

beforeEach(() => {
  eb.reset();
  ssm.reset();
  iam.reset();
  secrets.reset();
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
    expect(r.stdout).toMatch(/ok {3}instance-secrets/);
    expect(r.stdout).toMatch(/ok {3}instance-ecr/);
    expect(r.stdout).toMatch(/ok {3}deploy-roles: the \d+ ebship roles may make every call a deploy makes/);
    const calls = [eb, ssm, iam, secrets].flatMap((c) => c.calls().map((x) => x.args[0].constructor.name));
    const mutating = calls.filter((name) => !/^(Describe|List|Get|Simulate)/.test(name));
    expect(mutating).toEqual([]);
  });

  it('names the fix as a command for each failed check, and exits 1', async () => {
    account({
      systemType: 'basic',
      platformDate: new Date('2024-11-01T00:00:00Z'),
      online: ['i-0aaa'],
      denied: ['ecr:BatchGetImage', 'elasticbeanstalk:UpdateEnvironment'],
    });

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
    expect(r.stdout).toMatch(
      /FAIL instance-ecr: instance role aws-elasticbeanstalk-ec2-role may not ecr:BatchGetImage/,
    );
    expect(r.stdout).toContain(
      'fix: aws iam attach-role-policy --role-name aws-elasticbeanstalk-ec2-role --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
    );
    expect(r.stdout).toMatch(
      /FAIL deploy-roles: .*ebship-prod-deploy-version may not elasticbeanstalk:UpdateEnvironment on arn:aws:elasticbeanstalk:us-east-1:123456789012:environment\/antenna\/antenna-prod/,
    );
    expect(r.stdout).toContain('fix: npx serverless deploy --stage prod --region us-east-1');
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
