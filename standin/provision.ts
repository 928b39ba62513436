import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CHECK_EXIT, migrationDocumentFor } from '../lib/aws/migration-check.js';
import { checkDocumentFor, releaseDocumentFor, stackPrefix } from '../lib/aws/run-command.js';
import type { EbshipConfig, SecretSpec, Target, ValueFormat } from '../lib/config/schema.js';
import { versionDescription, versionLabel } from '../lib/release/version-label.js';
import { createDeployTableCommand } from '../lib/store/table.js';
import type { SchemaWorld } from './database-schema.js';
import type { Scenario } from './scenarios.js';
import { checkDocumentSpec, migrationDocumentSpec, releaseDocumentSpec } from './ssm-document.js';
import type { World } from './world.js';

/**
 * Provisions the stand-in for one target of ebship.yml, as if ebship had deployed a known-good
 * version before: the EB application and environment running it, its image in ECR, the target's
 * secrets (valid unless the scenario says otherwise), the bundle bucket, the alert topic, the
 * migration document, the DynamoDB table with the last-good pointer.
 */

export interface ProvisionNames {
  tableName: string;
  bundleBucket: string;
  alertTopic: string;
  migrationDocumentName: string;
}

export const DEFAULT_NAMES: ProvisionNames = {
  tableName: 'ebship-local',
  bundleBucket: 'ebship-local-bundles',
  alertTopic: 'ebship-local-alerts',
  migrationDocumentName: 'ebship-local-migration-check',
};

export const KNOWN_GOOD_TAG = 'v1.2.0';

/** The resource names of an ebship stage, as serverless.yml / infra name them (and the CLI expects). */
export function stageNames(stage: string): ProvisionNames {
  return {
    tableName: `ebship-${stage}`,
    bundleBucket: `ebship-${stage}-bundles`,
    alertTopic: `ebship-${stage}-alerts`,
    migrationDocumentName: `ebship-${stage}-migration-check`,
  };
}

export interface Provisioned {
  alertTopicArn: string;
  knownGood: { versionLabel: string; imageDigest: string };
}

export async function provision(
  world: World,
  endpoint: string,
  config: EbshipConfig,
  scenario: Scenario,
  names: ProvisionNames = DEFAULT_NAMES,
): Promise<Provisioned> {
  const target = config.targets[scenario.target];
  if (!target) {
    throw new Error(
      `scenario ${scenario.name} deploys target "${scenario.target}", which ebship.yml does not define`,
    );
  }
  const now = world.clock.now();
  const good = world.ecr.push(
    target.source.repository,
    KNOWN_GOOD_TAG,
    undefined,
    new Date(now - 86_400_000),
  );
  const label = versionLabel(KNOWN_GOOD_TAG, good.digest);
  world.eb.addVersion(
    target.application,
    label,
    names.bundleBucket,
    `${target.application}/${label}.zip`,
    versionDescription(target.source.repository, KNOWN_GOOD_TAG, good.digest),
  );
  world.eb.addEnvironment({
    application: target.application,
    environment: target.environment,
    versionLabel: label,
    instances: scenario.environment.instances,
    platformArn:
      target.platform === 'ecs'
        ? 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.5.0'
        : 'arn:aws:elasticbeanstalk:us-east-1::platform/Docker running on 64bit Amazon Linux 2023/4.5.0',
    solutionStackName:
      target.platform === 'ecs'
        ? '64bit Amazon Linux 2023 v4.5.0 running ECS'
        : '64bit Amazon Linux 2023 v4.5.0 running Docker',
    optionSettings: [
      {
        Namespace: 'aws:elasticbeanstalk:environment',
        OptionName: 'EnvironmentType',
        Value: 'SingleInstance',
      },
      {
        Namespace: 'aws:elasticbeanstalk:healthreporting:system',
        OptionName: 'SystemType',
        Value: 'enhanced',
      },
      { Namespace: 'aws:elasticbeanstalk:command', OptionName: 'DeploymentPolicy', Value: 'AllAtOnce' },
      ...(scenario.environment.streamLogs
        ? [{ Namespace: 'aws:elasticbeanstalk:cloudwatch:logs', OptionName: 'StreamLogs', Value: 'true' }]
        : []),
      {
        Namespace: 'aws:elasticbeanstalk:application',
        OptionName: 'Application Healthcheck URL',
        Value: target.health.path,
      },
      {
        Namespace: 'aws:autoscaling:launchconfiguration',
        OptionName: 'IamInstanceProfile',
        Value: 'aws-elasticbeanstalk-ec2-role',
      },
      { Namespace: 'aws:autoscaling:launchconfiguration', OptionName: 'InstanceType', Value: 't3.large' },
    ],
    onUpdate: scenario.environment.onUpdate,
  });

  for (const spec of uniqueSecrets(target)) {
    const override = scenario.secrets[spec.secretId] ?? {};
    if (override.missing) continue;
    world.secrets.put({
      name: spec.secretId,
      value: override.value ?? validSecretValue(spec, target),
      deletedAt: override.deleted ? new Date(now) : undefined,
      accessDenied: override.accessDenied,
    });
  }

  // One check document per target (infra/config-vars.cjs); its script exits 3 when the check itself
  // fails and names the check's exit code on stderr (infra/migration-check-script.cjs).
  world.ssm.addDocument(
    migrationDocumentFor(names.migrationDocumentName, scenario.target),
    migrationDocumentSpec(target),
  );
  // The release-phase and check documents (issue 11), and the database they act on, if the scenario has one.
  const prefix = stackPrefix(names.migrationDocumentName);
  if (target.release)
    world.ssm.addDocument(releaseDocumentFor(prefix, scenario.target), releaseDocumentSpec(target.release));
  for (const c of target.checks)
    world.ssm.addDocument(checkDocumentFor(prefix, scenario.target, c.name), checkDocumentSpec(c));
  if (scenario.database) world.ssm.schema = schemaWorld(world, target, scenario.database);
  const check = scenario.migrationCheck;
  world.ssm.outcome =
    check.exitCode === 0
      ? check
      : {
          ...check,
          exitCode: CHECK_EXIT.checkFailed,
          stderr: `${check.stderr}ebship-check-exit=${check.exitCode}\n`,
        };
  // The alarms the target gates on (health.alarms): OK since provisioning, unless the scenario sets
  // them before the deploy or schedules a change after the update starts.
  for (const name of target.health.alarms) world.cloudwatch.putAlarm(name);
  for (const a of scenario.alarms) {
    world.cloudwatch.putAlarm(a.name);
    if (a.afterUpdateSeconds === undefined)
      world.cloudwatch.setState(a.name, a.state, a.reason, now - 600_000);
    else world.cloudwatch.scheduled.push({ ...a, afterUpdateSeconds: a.afterUpdateSeconds });
  }
  world.s3.createBucket(names.bundleBucket);
  const alertTopicArn = world.sns.createTopic(names.alertTopic);
  if (target.alertTopicArn) world.sns.topics.add(target.alertTopicArn);

  const dynamo = new DynamoDBClient({
    endpoint,
    region: world.region,
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin' },
  });
  // One table for every target provisioned (serve mode provisions them all).
  await dynamo.send(createDeployTableCommand(names.tableName)).catch((err: Error) => {
    if (err.name !== 'ResourceInUseException') throw err;
  });
  await dynamo.send(
    new PutItemCommand({
      TableName: names.tableName,
      Item: {
        pk: { S: `ENV#${target.application}/${target.environment}` },
        sk: { S: 'LAST_GOOD' },
        versionLabel: { S: label },
        imageDigest: { S: good.digest },
        imagePushedAt: { S: good.pushedAt.toISOString() },
        deployedAt: { S: new Date(now - 82_800_000).toISOString() },
        executionId: { S: 'provisioned-by-standin' },
      },
    }),
  );
  dynamo.destroy();
  return { alertTopicArn, knownGood: { versionLabel: label, imageDigest: good.digest } };
}

function uniqueSecrets(target: Target): SecretSpec[] {
  const byId = new Map<string, SecretSpec>();
  for (const spec of Object.values(target.secrets)) byId.set(spec.secretId, spec);
  return [...byId.values()];
}

/** A value that passes the format the config asks for. */
function validSecretValue(spec: SecretSpec, target: Target): string {
  if (Object.keys(spec.keys).length > 0) {
    return JSON.stringify(
      Object.fromEntries(Object.entries(spec.keys).map(([k, v]) => [k, sample(v.format, target)])),
    );
  }
  return sample(spec.format, target);
}

function sample(format: ValueFormat, target: Target): string {
  switch (format) {
    case 'database-url':
      return `${target.database?.schemes[0] ?? 'postgres'}://app:rehearsal@db.internal:5432/app`;
    case 'redis-url':
      return target.cache?.encryptedInTransit
        ? 'rediss://cache.internal:6379/0?ssl_cert_reqs=required'
        : 'redis://cache.internal:6379/0';
    case 'url':
      return 'https://public@sentry.example.org/1';
    default:
      return 'rehearsal-value-not-a-real-secret';
  }
}

/** The scenario's database, with the images' migrations found by tag (ECR) and the instances' by version label (EB). */
function schemaWorld(world: World, target: Target, database: NonNullable<Scenario['database']>): SchemaWorld {
  const tagOf = (digest: string) =>
    world.ecr.repositories.get(target.source.repository)?.find((i) => i.digest === digest)?.tags[0];
  return {
    applied: new Set(database.applied),
    declaredBy: (digest) => database.images[tagOf(digest) ?? ''] ?? [],
    digestOn: (instanceId) => {
      const env = world.eb.environments.get(target.environment);
      const label = env?.instances.find((i) => i.id === instanceId)?.versionLabel;
      const short = label?.split('-').at(-1) ?? '';
      return world.ecr.repositories
        .get(target.source.repository)
        ?.find((i) => short.length > 0 && i.digest.slice(7).startsWith(short))?.digest;
    },
  };
}
