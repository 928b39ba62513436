import {
  DescribeEnvironmentResourcesCommand,
  DescribeEnvironmentsCommand,
  DescribePlatformVersionCommand,
  type ElasticBeanstalkClient,
  type EnvironmentDescription,
} from '@aws-sdk/client-elastic-beanstalk';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Target } from '../../lib/config/schema.js';
import { inspectEnvironment } from '../../lib/preflight/environment.js';
import { type IamScope, iamChecks, instanceRoleOf } from './iam-checks.js';

/**
 * `ebship doctor`: read-only checks of a real account before the first deploy. Each failed check
 * names its fix as a command to run. Nothing here changes AWS.
 */
export interface Check {
  id: string;
  ok: boolean;
  /** What was found, for people. */
  message: string;
  /** The command that fixes it (failed checks only). */
  fix?: string;
  /** A failed check that still lets deploys work, with a caveat. */
  warning?: boolean;
}

export interface DoctorClients {
  eb: ElasticBeanstalkClient;
  ssm: SSMClient;
  iam: IAMClient;
  secrets: SecretsManagerClient;
}

/** Which target, in which stage and region; the rest of IamScope is found by diagnose. */
export interface DoctorScope extends Pick<IamScope, 'functions' | 'callsOf'> {
  name: string;
  target: Target;
  stage: string;
  region: string;
}

/** EB's `environmentsecrets` namespace needs platform versions released on or after this day (EB developer guide, "Using Secrets Manager and Parameter Store with environment variables"). */
export const ENVIRONMENT_SECRETS_SINCE = new Date('2025-03-26T00:00:00Z');

export async function diagnose(clients: DoctorClients, scope: DoctorScope): Promise<Check[]> {
  const { target } = scope;
  const env = await liveEnvironment(clients.eb, target);
  const checks: Check[] = [];
  // Existence, platform, enhanced health and the version quota: the preflight CreateAppVersion runs.
  for (const f of await inspectEnvironment(clients.eb, target)) {
    checks.push({
      id: f.ruleId,
      ok: false,
      warning: f.severity === 'warning',
      message: f.message,
      fix: preflightFix(f.ruleId, target) ?? f.fix,
    });
  }
  if (!env) return checks;
  if (!checks.some((c) => c.id === 'environment-basic-health')) {
    checks.push({ id: 'enhanced-health', ok: true, message: 'enhanced health reporting is on' });
  }
  checks.push(operationsRoleCheck(env, target, `ebship-${scope.stage}-eb-operations`));
  if (Object.keys(target.secrets).length > 0)
    checks.push(await secretsPlatformCheck(clients.eb, env, target));
  const instanceIds = await instancesOf(clients.eb, target);
  const instanceRole = await instanceRoleOf(clients, target);
  if (target.migrationCheck) {
    checks.push(await ssmManagedCheck(clients, target, instanceIds, instanceRole.role?.name));
  }
  checks.push(...(await iamChecks(clients, { ...scope, env, instanceIds, instanceRole })));
  return checks;
}

async function instancesOf(eb: ElasticBeanstalkClient, target: Target): Promise<string[]> {
  const { EnvironmentResources } = await eb.send(
    new DescribeEnvironmentResourcesCommand({ EnvironmentName: target.environment }),
  );
  return (EnvironmentResources?.Instances ?? []).flatMap((i) => (i.Id ? [i.Id] : []));
}

async function liveEnvironment(eb: ElasticBeanstalkClient, target: Target) {
  const { Environments = [] } = await eb.send(
    new DescribeEnvironmentsCommand({
      ApplicationName: target.application,
      EnvironmentNames: [target.environment],
    }),
  );
  return Environments.find((e) => e.Status !== 'Terminated' && e.Status !== 'Terminating');
}

function preflightFix(ruleId: string, target: Target): string | undefined {
  switch (ruleId) {
    case 'environment-basic-health':
      return `aws elasticbeanstalk update-environment --environment-name ${target.environment} --option-settings Namespace=aws:elasticbeanstalk:healthreporting:system,OptionName=SystemType,Value=enhanced`;
    case 'version-quota-near':
    case 'version-quota-reached':
      return `aws elasticbeanstalk update-application-resource-lifecycle --application-name ${target.application} --resource-lifecycle-config 'ServiceRole=<service role ARN>,VersionLifecycleConfig={MaxCountRule={Enabled=true,MaxCount=200,DeleteSourceFromS3=true}}'`;
    default:
      return undefined;
  }
}

/** EB uses the operations role, not ebship's Lambdas, to change the environment (docs/iam.md). */
function operationsRoleCheck(env: EnvironmentDescription, target: Target, roleName: string): Check {
  const account = /^arn:[^:]+:elasticbeanstalk:[^:]*:(\d{12}):/.exec(env.EnvironmentArn ?? '')?.[1];
  const partition = /^arn:([^:]+):/.exec(env.EnvironmentArn ?? '')?.[1] ?? 'aws';
  const expected = `arn:${partition}:iam::${account ?? '<account>'}:role/${roleName}`;
  if (env.OperationsRole === expected) {
    return { id: 'operations-role', ok: true, message: `EB updates the environment with ${roleName}` };
  }
  return {
    id: 'operations-role',
    ok: false,
    message: env.OperationsRole
      ? `the environment's operations role is ${env.OperationsRole}, not ebship's ${roleName}`
      : `no operations role is associated: EB would update the environment with ebship's Lambda roles, which are not allowed to (docs/iam.md)`,
    fix: `aws elasticbeanstalk associate-environment-operations-role --environment-name ${target.environment} --operations-role ${expected}`,
  };
}

async function secretsPlatformCheck(
  eb: ElasticBeanstalkClient,
  env: EnvironmentDescription,
  target: Target,
): Promise<Check> {
  const id = 'platform-environmentsecrets';
  if (!env.PlatformArn) {
    return {
      id,
      ok: false,
      warning: true,
      message:
        'the environment reports no platform ARN, so ebship cannot tell whether it supports environmentsecrets',
      fix: `aws elasticbeanstalk describe-environments --environment-names ${target.environment} --query 'Environments[0].PlatformArn'`,
    };
  }
  const { PlatformDescription } = await eb.send(
    new DescribePlatformVersionCommand({ PlatformArn: env.PlatformArn }),
  );
  const created = PlatformDescription?.DateCreated;
  if (created && created >= ENVIRONMENT_SECRETS_SINCE) {
    return { id, ok: true, message: `platform version supports environmentsecrets (${env.PlatformArn})` };
  }
  return {
    id,
    ok: false,
    message: `platform version ${env.PlatformArn} was released ${created ? created.toISOString().slice(0, 10) : 'at an unknown date'}; secrets in the environmentsecrets namespace need one released on or after 2025-03-26`,
    fix: `aws elasticbeanstalk update-environment --environment-name ${target.environment} --platform-arn <a current ${target.platform === 'ecs' ? 'ECS' : 'Docker'} platform ARN from: aws elasticbeanstalk list-platform-versions>`,
  };
}

/** The migration check runs through SSM Run Command: every instance must be a managed node. */
async function ssmManagedCheck(
  clients: DoctorClients,
  target: Target,
  instances: string[],
  instanceRole: string | undefined,
): Promise<Check> {
  const managed = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await clients.ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'tag:elasticbeanstalk:environment-name', Values: [target.environment] }],
        NextToken: nextToken,
      }),
    );
    for (const i of page.InstanceInformationList ?? []) {
      if (i.InstanceId && i.PingStatus === 'Online') managed.add(i.InstanceId);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  const missing = instances.filter((i) => !managed.has(i));
  if (instances.length > 0 && missing.length === 0) {
    return {
      id: 'ssm-managed',
      ok: true,
      message: `all ${instances.length} instance(s) are SSM-managed and online`,
    };
  }
  return {
    id: 'ssm-managed',
    ok: false,
    message:
      instances.length === 0
        ? 'the environment has no running instances to run the migration check on'
        : `instance(s) ${missing.join(', ')} are not SSM-managed (or their agent is offline), so the migration check cannot run`,
    fix: `aws iam attach-role-policy --role-name ${instanceRole ?? "<the environment's instance profile role>"} --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore`,
  };
}
