import {
  DescribeAccountAttributesCommand,
  DescribeApplicationsCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
  type ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import type { Target } from '../config/schema.js';
import type { CachedEnvironment, DescribeCache } from '../store/describe-cache.js';
import { formatDuration } from '../text/duration.js';
import { at, type Finding } from './finding.js';
import type { VersionCount } from './version-count.js';

export interface InspectOptions {
  /** Shares the region's version count between deploys (lib/preflight/version-count.ts); default: count now. */
  versionCount?: (count: () => Promise<number>) => Promise<VersionCount>;
  /**
   * Shares read-only answers between deploys for a short time (lib/store/describe-cache.ts): the
   * environment (the health watch's snapshot when fresh) for a minute, its health reporting for
   * five, the account's quotas for fifteen. Default: ask EB every time (ebship doctor).
   */
  cache?: DescribeCache;
}

/** Seconds each answer may be reused by preflight (never by a step that changes EB). */
export const PREFLIGHT_CACHE_SECONDS = { environment: 60, healthReporting: 300, accountAttributes: 900 };

const passThrough: DescribeCache = { get: (_scope, _what, _age, read) => read() };

/**
 * Read-only look at the target's EB environment before a version is created: it exists and is
 * live, it runs the platform the bundle is for, enhanced health is on (ebship's verdict reads
 * per-instance versions), and the region has room for one more application version.
 */
export async function inspectEnvironment(
  client: ElasticBeanstalkClient,
  target: Target,
  options: InspectOptions = {},
): Promise<Finding[]> {
  const cache = options.cache ?? passThrough;
  const key = { application: target.application, environment: target.environment };
  const fromSnapshot = await cache.snapshot?.(key, PREFLIGHT_CACHE_SECONDS.environment);
  const Environments: CachedEnvironment[] = fromSnapshot
    ? [fromSnapshot]
    : await cache.get(key, 'environments', PREFLIGHT_CACHE_SECONDS.environment, async () => {
        const out = await client.send(
          new DescribeEnvironmentsCommand({
            ApplicationName: target.application,
            EnvironmentNames: [target.environment],
          }),
        );
        // Plain data only (the table stores no Date): what the checks below read.
        return (out.Environments ?? []).map(
          (e): CachedEnvironment =>
            Object.fromEntries(
              Object.entries({
                ApplicationName: e.ApplicationName,
                EnvironmentName: e.EnvironmentName,
                Status: e.Status,
                PlatformArn: e.PlatformArn,
                SolutionStackName: e.SolutionStackName,
              }).filter(([, v]) => v !== undefined),
            ),
        );
      });
  // A terminated environment stays listed for a while, possibly next to a live one of the same name.
  const live = Environments.find((e) => e.Status !== 'Terminated' && e.Status !== 'Terminating');
  const env = live ?? Environments[0];
  const where = `${target.application}/${target.environment}`;
  if (!env) {
    return [
      at({
        ruleId: 'environment-not-found',
        severity: 'error',
        message: `environment ${where} does not exist in this account and region`,
        fix: 'Create the environment (ebship deploys to existing environments only), or correct application/environment in ebship.yml.',
      }),
    ];
  }
  if (!live) {
    return [
      at({
        ruleId: 'environment-terminated',
        severity: 'error',
        message: `environment ${where} is ${env.Status === 'Terminating' ? 'being terminated' : 'terminated'}`,
        fix: 'Recreate the environment (or restore it with RebuildEnvironment within 6 weeks of termination), then deploy again.',
      }),
    ];
  }
  const findings: Finding[] = [...platformFindings(env, target, where)];
  findings.push(...(await healthReportingFindings(client, target, where, cache)));
  findings.push(...(await versionQuotaFindings(client, target, options, cache)));
  return findings;
}

function platformKind(env: CachedEnvironment): 'ecs' | 'docker' | undefined {
  const text = `${env.PlatformArn ?? ''} ${env.SolutionStackName ?? ''}`;
  // Platform ARNs name the branch ("platform/ECS running on 64bit Amazon Linux 2023/4.4.0"); solution stack
  // names put it last ("64bit Amazon Linux 2023 v4.4.0 running ECS"). The retired "Multi-container
  // Docker" is the ECS platform too; "Docker running on ..." / "... running Docker" is the compose one.
  if (/ECS running on|running ECS\b|Multi-container Docker/i.test(text)) return 'ecs';
  if (/Docker running on|running Docker\b/i.test(text)) return 'docker';
  return undefined;
}

function platformFindings(env: CachedEnvironment, target: Target, where: string): Finding[] {
  const kind = platformKind(env);
  if (kind === target.platform) return [];
  if (kind === undefined && !(env.SolutionStackName || env.PlatformArn)) {
    return [
      at({
        ruleId: 'environment-platform-unknown',
        severity: 'warning',
        message: `environment ${where} reports no platform, so ebship cannot tell whether it runs ECS or Docker`,
        fix: `Check that it runs ${target.platform === 'ecs' ? 'ECS' : 'Docker'}: the bundle holds ${target.platform === 'ecs' ? 'Dockerrun.aws.json v2' : 'docker-compose.yml'}.`,
      }),
    ];
  }
  const actual = env.SolutionStackName ?? env.PlatformArn ?? 'an unknown platform';
  const wanted =
    target.platform === 'ecs' ? 'an "ECS running on ..." platform' : 'a "Docker running on ..." platform';
  const bundle = target.platform === 'ecs' ? 'Dockerrun.aws.json v2' : 'docker-compose.yml';
  return [
    at({
      ruleId: 'environment-platform-mismatch',
      severity: 'error',
      message: `environment ${where} runs "${actual}", but ebship.yml says platform: ${target.platform}, so the bundle holds ${bundle}, which that platform cannot run`,
      fix: `Set platform: ${kind ?? 'ecs or docker'} in ebship.yml to match the environment, or move the environment to ${wanted}.`,
    }),
  ];
}

async function healthReportingFindings(
  client: ElasticBeanstalkClient,
  target: Target,
  where: string,
  cache: DescribeCache,
): Promise<Finding[]> {
  const key = { application: target.application, environment: target.environment };
  const systemType = await cache.get(
    key,
    'health-reporting',
    PREFLIGHT_CACHE_SECONDS.healthReporting,
    async () => {
      const { ConfigurationSettings = [] } = await client.send(
        new DescribeConfigurationSettingsCommand({
          ApplicationName: target.application,
          EnvironmentName: target.environment,
        }),
      );
      return (
        ConfigurationSettings.flatMap((s) => s.OptionSettings ?? []).find(
          (o) =>
            o.Namespace === 'aws:elasticbeanstalk:healthreporting:system' && o.OptionName === 'SystemType',
        )?.Value ?? null
      );
    },
  );
  if (systemType?.toLowerCase() === 'enhanced') return [];
  return [
    at({
      ruleId: 'environment-basic-health',
      severity: 'error',
      message: `environment ${where} uses ${systemType ?? 'basic'} health reporting: ebship cannot see which version each instance runs, so it cannot tell a finished deploy from one that left old instances behind`,
      fix: 'Turn on enhanced health: option aws:elasticbeanstalk:healthreporting:system SystemType = enhanced (needs the service role with AWSElasticBeanstalkEnhancedHealth).',
    }),
  ];
}

// Headroom below which a warning is raised: enough for a burst of pushes before the quota bites.
const QUOTA_WARNING_HEADROOM = 20;
const DEFAULT_VERSION_QUOTA = 1000;

async function versionQuotaFindings(
  client: ElasticBeanstalkClient,
  target: Target,
  options: InspectOptions,
  cache: DescribeCache,
): Promise<Finding[]> {
  const quota = await cache.get(
    'account',
    'version-quota',
    PREFLIGHT_CACHE_SECONDS.accountAttributes,
    async () => {
      const attributes = await client.send(new DescribeAccountAttributesCommand({}));
      return attributes.ResourceQuotas?.ApplicationVersionQuota?.Maximum ?? DEFAULT_VERSION_QUOTA;
    },
  );
  const counted = options.versionCount
    ? await options.versionCount(() => countVersions(client))
    : { count: await countVersions(client), ageSeconds: 0 };
  const count = counted.count;
  const age = counted.ageSeconds > 0 ? ` (counted ${formatDuration(counted.ageSeconds)} ago)` : '';

  const headroom = quota - count;
  if (headroom > QUOTA_WARNING_HEADROOM) return [];
  const lifecycle = await lifecycleState(client, target.application);
  const setting = 'ResourceLifecycleConfig.VersionLifecycleConfig.MaxCountRule (or MaxAgeRule)';
  const fix =
    lifecycle === 'on'
      ? `The lifecycle policy of "${target.application}" is on, so the other applications in this region hold the versions: enable ${setting} on them too, or delete unused versions (aws elasticbeanstalk delete-application-version --delete-source-bundle).`
      : `Enable the version lifecycle policy of "${target.application}": ${setting} with Enabled: true, a MaxCount, DeleteSourceFromS3 and a ServiceRole (aws elasticbeanstalk update-application-resource-lifecycle)${lifecycle === 'unknown' ? ' if it is not already on' : ''}; or delete unused versions now.`;
  return [
    at({
      ruleId: headroom <= 0 ? 'version-quota-reached' : 'version-quota-near',
      severity: headroom <= 0 ? 'error' : 'warning',
      message:
        headroom <= 0
          ? `this region holds ${count} application versions${age}, the account's quota of ${quota}: CreateApplicationVersion will fail with TooManyApplicationVersionsException`
          : `this region holds ${count} of ${quota} application versions${age}: ${headroom} deploys left before CreateApplicationVersion fails`,
      fix,
    }),
  ];
}

/** The quota is per region across all applications, so count every application's versions. */
async function countVersions(client: ElasticBeanstalkClient): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeApplicationVersionsCommand({ MaxRecords: 1000, NextToken: nextToken }),
    );
    count += page.ApplicationVersions?.length ?? 0;
    nextToken = page.NextToken;
  } while (nextToken);
  return count;
}

/** Whether the application deletes old versions itself; 'unknown' when not allowed to look. */
async function lifecycleState(
  client: ElasticBeanstalkClient,
  application: string,
): Promise<'on' | 'off' | 'unknown'> {
  try {
    const { Applications = [] } = await client.send(
      new DescribeApplicationsCommand({ ApplicationNames: [application] }),
    );
    const rules = Applications[0]?.ResourceLifecycleConfig?.VersionLifecycleConfig;
    return rules?.MaxCountRule?.Enabled || rules?.MaxAgeRule?.Enabled ? 'on' : 'off';
  } catch {
    // Only consulted to word the fix; elasticbeanstalk:DescribeApplications may not be granted.
    return 'unknown';
  }
}
