import {
  AssociateEnvironmentOperationsRoleCommand,
  DescribeEnvironmentsCommand,
  DescribePlatformVersionCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import {
  AttachRolePolicyCommand,
  GetInstanceProfileCommand,
  IAMClient,
  PutRolePolicyCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClock } from '../../standin/clock.js';
import { type Standin, startStandin } from '../../standin/server.js';
import { clientsFor, rejection } from './clients.js';

/**
 * The stand-in's answers to the calls `ebship doctor` makes, through the real SDK v3 clients: IAM's
 * policy simulator and instance profiles, SSM's managed-node inventory, EB's platform versions and
 * operations role. Each behaviour cites the AWS documentation or API model it follows.
 */

const ACCOUNT = '123456789012';
const PLATFORM = 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.5.0';
let standin: Standin;
let iam: IAMClient;
let clients: ReturnType<typeof clientsFor>;

beforeEach(async () => {
  standin = await startStandin({ clock: createClock(1) });
  clients = clientsFor(standin.endpoint);
  iam = new IAMClient({
    endpoint: standin.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' },
    maxAttempts: 1,
  });
  standin.world.eb.addEnvironment({
    application: 'antenna',
    environment: 'antenna-prod',
    versionLabel: 'v1',
    instances: 2,
    platformArn: PLATFORM,
    solutionStackName: '64bit Amazon Linux 2023 v4.5.0 running ECS',
    optionSettings: [],
    onUpdate: [],
  });
});
afterEach(() => standin.close());

const simulate = (role: string, actions: string[], resources?: string[], context?: Record<string, string>) =>
  iam.send(
    new SimulatePrincipalPolicyCommand({
      PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/${role}`,
      ActionNames: actions,
      ResourceArns: resources,
      ContextEntries: Object.entries(context ?? {}).map(([k, v]) => ({
        ContextKeyName: k,
        ContextKeyValues: [v],
        ContextKeyType: 'string',
      })),
    }),
  );

describe('IAM SimulatePrincipalPolicy (IAM API reference; policy evaluation logic)', () => {
  beforeEach(() => {
    standin.world.iam.putRole('app');
    standin.world.iam.putRolePolicy('app', 'read', {
      Statement: [
        {
          Effect: 'Allow',
          Action: ['SecretsManager:Get*'],
          Resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/*`,
        },
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
        },
      ],
    });
  });

  // "Action element": action names are case-insensitive and take * and ? wildcards.
  it('allows an action a wildcard statement names, matching the action case-insensitively', async () => {
    const r = await simulate(
      'app',
      ['secretsmanager:GetSecretValue'],
      [`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/db-AbCdEf`],
    );

    expect(r.EvaluationResults?.[0]).toMatchObject({
      EvalActionName: 'secretsmanager:GetSecretValue',
      EvalDecision: 'allowed',
    });
  });

  // EvaluationResult: one result per action, whatever the number of resources; the top-level
  // decision is the most restrictive, each resource's own is in ResourceSpecificResults.
  it('answers one result per action with each resource decided on its own', async () => {
    const inside = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/db-AbCdEf`;
    const outside = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:other/db-AbCdEf`;

    const r = await simulate('app', ['secretsmanager:GetSecretValue'], [inside, outside]);

    expect(r.EvaluationResults).toHaveLength(1);
    expect(r.EvaluationResults?.[0]?.EvalDecision).toBe('implicitDeny');
    expect(r.EvaluationResults?.[0]?.ResourceSpecificResults).toEqual([
      expect.objectContaining({ EvalResourceName: inside, EvalResourceDecision: 'allowed' }),
      expect.objectContaining({ EvalResourceName: outside, EvalResourceDecision: 'implicitDeny' }),
    ]);
  });

  // Policy evaluation logic: an explicit Deny in any policy overrides every Allow.
  it('lets an explicit Deny win over an Allow', async () => {
    standin.world.iam.putRolePolicy('app', 'guard', {
      Statement: [{ Effect: 'Deny', Action: 'secretsmanager:*', Resource: '*' }],
    });

    const r = await simulate(
      'app',
      ['secretsmanager:GetSecretValue'],
      [`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/db-AbCdEf`],
    );

    expect(r.EvaluationResults?.[0]?.EvalDecision).toBe('explicitDeny');
  });

  // A condition key missing from the request context fails StringEquals; the simulator names it in
  // MissingContextValues (API reference, EvaluationResult).
  it('denies when a condition key is missing from the context, and names the key', async () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234`;

    const without = await simulate('app', ['kms:Decrypt'], [key]);
    const viaSecrets = await simulate('app', ['kms:Decrypt'], [key], {
      'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com',
    });
    const viaOther = await simulate('app', ['kms:Decrypt'], [key], {
      'kms:ViaService': 's3.us-east-1.amazonaws.com',
    });

    expect(without.EvaluationResults?.[0]).toMatchObject({
      EvalDecision: 'implicitDeny',
      MissingContextValues: ['kms:ViaService'],
    });
    expect(viaSecrets.EvaluationResults?.[0]?.EvalDecision).toBe('allowed');
    expect(viaOther.EvaluationResults?.[0]?.EvalDecision).toBe('implicitDeny');
  });

  it('denies what no statement allows (implicit deny)', async () => {
    const r = await simulate('app', ['ecr:BatchGetImage'], [`arn:aws:ecr:us-east-1:${ACCOUNT}:repository/x`]);

    expect(r.EvaluationResults?.[0]?.EvalDecision).toBe('implicitDeny');
  });

  // SimulatePrincipalPolicy errors (botocore iam service-2.json): NoSuchEntity, HTTP 404.
  it('refuses a role that does not exist with NoSuchEntity', async () => {
    const err = await rejection(simulate('nobody', ['s3:GetObject']));

    expect(err.name).toBe('NoSuchEntityException');
    expect(err.$metadata?.httpStatusCode).toBe(404);
  });

  // PutRolePolicy / AttachRolePolicy errors (botocore iam service-2.json): MalformedPolicyDocument
  // (400) for a document IAM cannot parse, NoSuchEntity for a policy that does not exist.
  it('takes a role policy or a managed policy, and the simulator applies it at once', async () => {
    const repo = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/x`;
    const malformed = await rejection(
      iam.send(
        new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'bad', PolicyDocument: '{"Statement":' }),
      ),
    );
    const unknown = await rejection(
      iam.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: 'arn:aws:iam::aws:policy/Nope' })),
    );
    const before = await simulate('app', ['ecr:BatchGetImage'], [repo]);

    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: 'app',
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
      }),
    );
    const after = await simulate('app', ['ecr:BatchGetImage'], [repo]);

    expect(malformed.name).toBe('MalformedPolicyDocumentException');
    expect(unknown.name).toBe('NoSuchEntityException');
    expect(before.EvaluationResults?.[0]?.EvalDecision).toBe('implicitDeny');
    expect(after.EvaluationResults?.[0]?.EvalDecision).toBe('allowed');
  });

  it('gives an instance profile with its roles (GetInstanceProfile)', async () => {
    standin.world.iam.putInstanceProfile('web', ['app']);

    const r = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' }));
    const missing = await rejection(iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'nope' })));

    expect(r.InstanceProfile?.Roles?.map((x) => x.Arn)).toEqual([`arn:aws:iam::${ACCOUNT}:role/app`]);
    expect(missing.name).toBe('NoSuchEntityException');
  });
});

describe('SSM DescribeInstanceInformation (API reference; ssm service-2.json)', () => {
  const list = (max?: number) =>
    clients.ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'tag:elasticbeanstalk:environment-name', Values: ['antenna-prod'] }],
        MaxResults: max,
      }),
    );

  it('lists the environment’s instances by EB’s tag, Online, and no other instance', async () => {
    standin.world.eb.addEnvironment({
      application: 'other',
      environment: 'other-prod',
      versionLabel: 'v1',
      instances: 1,
      platformArn: PLATFORM,
      solutionStackName: 'x',
      optionSettings: [],
      onUpdate: [],
    });

    const r = await list();

    expect(r.InstanceInformationList?.map((i) => i.InstanceId).sort()).toEqual(
      standin.world.eb.instanceIds('antenna-prod').sort(),
    );
    expect(r.InstanceInformationList?.every((i) => i.PingStatus === 'Online')).toBe(true);
  });

  // An instance without a registered agent is not a managed node: it is not listed at all.
  it('leaves out unmanaged instances and shows a silent agent as ConnectionLost', async () => {
    const [a, b] = standin.world.eb.instanceIds('antenna-prod');
    standin.world.ssm.inventory?.unmanaged.add(a ?? '');
    standin.world.ssm.inventory?.offline.add(b ?? '');

    const r = await list();

    expect(r.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus])).toEqual([
      [b, 'ConnectionLost'],
    ]);
  });

  // An agent registers only if the instance profile's role allows it (AmazonSSMManagedInstanceCore;
  // Systems Manager user guide, "Configure instance permissions required for Systems Manager").
  it('lists no instance whose instance profile role may not register the agent', async () => {
    standin.world.eb.addEnvironment({
      application: 'web',
      environment: 'web-prod',
      versionLabel: 'v1',
      instances: 1,
      platformArn: PLATFORM,
      solutionStackName: 'x',
      optionSettings: [
        { Namespace: 'aws:autoscaling:launchconfiguration', OptionName: 'IamInstanceProfile', Value: 'web' },
      ],
      onUpdate: [],
    });
    standin.world.iam.putRole('web');
    standin.world.iam.putInstanceProfile('web', ['web']);
    const listWeb = () =>
      clients.ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'tag:elasticbeanstalk:environment-name', Values: ['web-prod'] }],
        }),
      );

    const without = await listWeb();
    standin.world.iam.attachManagedPolicy('web', 'AmazonSSMManagedInstanceCore');
    const withCore = await listWeb();

    expect(without.InstanceInformationList).toEqual([]);
    expect(withCore.InstanceInformationList?.map((i) => i.InstanceId)).toEqual(
      standin.world.eb.instanceIds('web-prod'),
    );
  });

  // MaxResults is MaxResultsEC2Compatible: 5 to 50.
  it('refuses a page size outside 5..50', async () => {
    const err = await rejection(list(51));

    expect(err.name).toBe('ValidationException');
  });
});

describe('EB DescribePlatformVersion and the operations role (EB API reference)', () => {
  it('describes a platform version with its release date and branch', async () => {
    const r = await clients.eb.send(new DescribePlatformVersionCommand({ PlatformArn: PLATFORM }));

    expect(r.PlatformDescription).toMatchObject({
      PlatformArn: PLATFORM,
      PlatformBranchName: 'ECS running on 64bit Amazon Linux 2023',
      PlatformStatus: 'Ready',
    });
    expect(r.PlatformDescription?.DateCreated).toBeInstanceOf(Date);
  });

  it('refuses an unknown platform ARN', async () => {
    const err = await rejection(
      clients.eb.send(
        new DescribePlatformVersionCommand({
          PlatformArn: 'arn:aws:elasticbeanstalk:us-east-1::platform/Nope/1.0',
        }),
      ),
    );

    expect(err.name).toBe('InvalidParameterValue');
  });

  // DescribeEnvironments' EnvironmentDescription.OperationsRole: set by
  // AssociateEnvironmentOperationsRole, absent before.
  it('shows the operations role once it is associated', async () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/ebship-prod-eb-operations`;
    const before = await clients.eb.send(
      new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }),
    );

    await clients.eb.send(
      new AssociateEnvironmentOperationsRoleCommand({
        EnvironmentName: 'antenna-prod',
        OperationsRole: role,
      }),
    );
    const after = await clients.eb.send(
      new DescribeEnvironmentsCommand({ EnvironmentNames: ['antenna-prod'] }),
    );

    expect(before.Environments?.[0]?.OperationsRole).toBeUndefined();
    expect(after.Environments?.[0]?.OperationsRole).toBe(role);
  });
});
