import type { ContextEntry } from '@aws-sdk/client-iam';
import type { Target } from '../../lib/config/schema.js';

/**
 * Which of a target's own resources each deploy call acts on, to simulate it there: the ARNs
 * infra/config-vars.cjs scopes the roles to, as they exist in the account. The actions come from the
 * code (deploy-calls.ts); this maps an action to where it lands. An action this does not know is
 * reported as not judged, never passed.
 */
export interface TargetArns {
  partition: string;
  region: string;
  account: string;
  stage: string;
  /** The target's name in ebship.yml (its check document is named after it). */
  name: string;
  target: Target;
  /** The secrets' full ARNs (DescribeSecret), with their customer managed key if any. */
  secrets: { arn: string; keyArn?: string }[];
  /** The environment's running instances. */
  instanceIds: string[];
}

export interface Simulation {
  resources: string[];
  context?: ContextEntry[];
}

// A version label no real version has: the simulation needs a concrete ARN, not a pattern.
const PROBE = 'ebship-doctor-probe';

// EB actions authorised on the environment.
const ENVIRONMENT_ACTIONS = new Set([
  'AbortEnvironmentUpdate',
  'DescribeConfigurationSettings',
  'DescribeEnvironmentHealth',
  'DescribeEnvironmentResources',
  'DescribeEnvironments',
  'DescribeInstancesHealth',
  'RequestEnvironmentInfo',
  'RetrieveEnvironmentInfo',
  'UpdateEnvironment',
]);

/**
 * Where to simulate `action` for this target; 'unused' when a deploy of this target never makes the
 * call (no secrets, no migration check); undefined when ebship does not know where it lands.
 */
export function simulationFor(
  action: string,
  t: TargetArns,
  /** The function making the call (serverless.yml's key): some calls land on its own resources. */
  fn = '',
): Simulation | 'unused' | undefined {
  const [service = '', name = ''] = action.split(':');
  const arn = (svc: string, resource: string, region = t.region, account = t.account) =>
    `arn:${t.partition}:${svc}:${region}:${account}:${resource}`;
  const app = t.target.application;
  const environmentArn = arn('elasticbeanstalk', `environment/${app}/${t.target.environment}`);
  const applicationArn = arn('elasticbeanstalk', `application/${app}`);
  const versionArn = arn('elasticbeanstalk', `applicationversion/${app}/${PROBE}`);
  const stateMachine = `ebship-${t.stage}-deploy`;
  switch (service) {
    case 'dynamodb':
      return { resources: [arn('dynamodb', `table/ebship-${t.stage}`)] };
    case 'ecr':
      return { resources: [arn('ecr', `repository/${t.target.source.repository}`)] };
    case 'secretsmanager':
      if (Object.keys(t.target.secrets).length === 0) return 'unused';
      return t.secrets.length > 0 ? { resources: t.secrets.map((x) => x.arn) } : undefined;
    case 's3':
      return { resources: [`arn:${t.partition}:s3:::ebship-${t.stage}-bundles/${app}/${PROBE}.zip`] };
    case 'sns':
      return {
        resources: [
          arn('sns', `ebship-${t.stage}-alerts`),
          ...(t.target.alertTopicArn ? [t.target.alertTopicArn] : []),
        ],
      };
    case 'states':
      // SendTask* (the event-driven health watch's wake) is authorised on the state machine whose
      // task the token belongs to, as the CDK's StateMachine.grantTaskResponse grants it.
      return name === 'StartExecution' || name.startsWith('SendTask')
        ? { resources: [arn('states', `stateMachine:${stateMachine}`)] }
        : { resources: [arn('states', `execution:${stateMachine}:${PROBE}`)] };
    case 'elasticbeanstalk':
      if (ENVIRONMENT_ACTIONS.has(name)) return { resources: [environmentArn] };
      // EB authorises DescribeEvents on what its filters name; every ebship call names the
      // application (with the environment or with the version label), so the application and its
      // versions are what each caller must be allowed.
      if (name === 'DescribeEvents') return { resources: [applicationArn, versionArn] };
      if (name === 'CreateApplicationVersion') return { resources: [applicationArn, versionArn] };
      if (name === 'DescribeApplicationVersions') return { resources: [versionArn] };
      if (name === 'DescribeApplications') return { resources: [applicationArn] };
      // No resource type in the Service Authorization Reference.
      if (name === 'DescribeAccountAttributes') return { resources: ['*'] };
      return undefined;
    case 'cloudwatch':
      // Alarm gates (health.alarms): DescribeAlarms is authorized on each alarm's ARN.
      if (name === 'DescribeAlarms') {
        if (t.target.health.alarms.length === 0) return 'unused';
        return { resources: t.target.health.alarms.map((a) => arn('cloudwatch', `alarm:${a}`)) };
      }
      return undefined;
    case 'logs':
      // LogTail reads the instances' streams in the environment's own streamed groups.
      if (name === 'GetLogEvents')
        return {
          resources: [
            arn('logs', `log-group:/aws/elasticbeanstalk/${t.target.environment}/var/log/eb-engine.log`),
          ],
        };
      return undefined;
    case 'ssm':
      if (name === 'SendCommand') {
        // Each sender has its own documents (infra/config-vars.cjs names them).
        const documents =
          fn === 'startRelease'
            ? t.target.release
              ? [`release-${t.name}`]
              : []
            : fn === 'startChecks'
              ? t.target.checks.map((c) => `check-${t.name}-${c.name}`)
              : t.target.migrationCheck
                ? [`migration-check-${t.name}`]
                : [];
        if (documents.length === 0) return 'unused';
        if (t.instanceIds.length === 0) return undefined;
        return {
          resources: [
            ...documents.map((d) => arn('ssm', `document/ebship-${t.stage}-${d}`)),
            ...t.instanceIds.map((id) => arn('ec2', `instance/${id}`)),
          ],
          // SendCommand on an instance is pinned to EB's environment tag on it.
          context: [
            {
              ContextKeyName: 'ssm:resourceTag/elasticbeanstalk:environment-name',
              ContextKeyValues: [t.target.environment],
              ContextKeyType: 'string',
            },
          ],
        };
      }
      if (name === 'GetCommandInvocation') {
        const used =
          fn === 'checkRelease'
            ? Boolean(t.target.release)
            : fn === 'checkChecks'
              ? t.target.checks.length > 0
              : Boolean(t.target.migrationCheck);
        return used ? { resources: ['*'] } : 'unused';
      }
      // The release's command looked up by its comment before any resend (no resource type).
      if (name === 'ListCommands') return t.target.release ? { resources: ['*'] } : 'unused';
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Where an on-behalf grant (deploy-calls.ts ON_BEHALF) lands for this target: a list of
 * simulations, 'unused' when this target's deploy never needs it, or 'stack' when it is on the
 * stack's own resource (the alert topic's key, whose ARN doctor does not look up; the template test
 * pins that grant to it).
 */
export function onBehalfSimulations(
  role: string,
  action: string,
  t: TargetArns,
): Simulation[] | 'unused' | 'stack' | undefined {
  if (role === 'ValidateSecrets' && action === 'kms:Decrypt') {
    // Secrets Manager decrypts with the caller's rights, through KMS, with the secret's ARN in the
    // encryption context (Secrets Manager user guide, "Secret encryption and decryption").
    const underKeys = t.secrets.filter((s) => s.keyArn);
    if (underKeys.length === 0) return 'unused';
    return underKeys.map((s) => ({
      resources: [s.keyArn ?? ''],
      context: [
        {
          ContextKeyName: 'kms:ViaService',
          ContextKeyValues: [`secretsmanager.${t.region}.amazonaws.com`],
          ContextKeyType: 'string',
        },
        {
          ContextKeyName: 'kms:EncryptionContext:SecretARN',
          ContextKeyValues: [s.arn],
          ContextKeyType: 'string',
        },
      ],
    }));
  }
  if (role === 'CreateAppVersion' && action === 's3:GetObject') {
    return [
      {
        resources: [`arn:${t.partition}:s3:::ebship-${t.stage}-bundles/${t.target.application}/${PROBE}.zip`],
      },
    ];
  }
  if (role === 'CreateAppVersion' && action === 's3:GetBucketLocation') {
    return [{ resources: [`arn:${t.partition}:s3:::ebship-${t.stage}-bundles`] }];
  }
  if (action.startsWith('kms:')) return 'stack';
  return undefined;
}
