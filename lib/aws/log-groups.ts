import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeConfigurationSettingsCommand,
  type ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';

/**
 * EB's instance log streaming to CloudWatch Logs (EB developer guide, "Using Elastic Beanstalk with
 * Amazon CloudWatch Logs", https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/AWSHowTo.cloudwatchlogs.html):
 * - on when the option `aws:elasticbeanstalk:cloudwatch:logs` / `StreamLogs` is `true`;
 * - one log group per streamed file, named `/aws/elasticbeanstalk/<environment>/<file path>`;
 * - one log stream per instance, named by its instance id.
 * The files streamed depend on the platform ("Instance log streaming", log group table). The app's
 * own output comes first, then what EB and the container agent said while deploying it.
 */
export const STREAM_NAMESPACE = 'aws:elasticbeanstalk:cloudwatch:logs';

/**
 * Files each platform streams by default, the app's output first:
 * - Docker (AL2, AL2023): the current app container's stdout and stderr
 *   (`/var/log/eb-docker/containers/eb-current-app/stdouterr.log`; the guide's Docker list, also
 *   awsdocs/aws-elastic-beanstalk-developer-guide#36), then the deployment engine's log;
 * - ECS (AL2, AL2023): the containers' own output is not in the default list (Dockerrun v2 mounts it
 *   under /var/log/containers, streamed only with a custom agent configuration), so the files that
 *   say why the containers did not start: EB's ECS manager, the ECS agent, the deployment engine.
 */
export const STREAMED_FILES: Record<'docker' | 'ecs', readonly string[]> = {
  docker: ['/var/log/eb-docker/containers/eb-current-app/stdouterr.log', '/var/log/eb-engine.log'],
  ecs: ['/var/log/eb-ecs-mgr.log', '/var/log/ecs/ecs-agent.log', '/var/log/eb-engine.log'],
};

export function logGroupName(environment: string, file: string): string {
  return `/aws/elasticbeanstalk/${environment}${file}`;
}

/** ECS platform ARNs and solution stacks say "ECS" (formerly Multi-container Docker); the rest is Docker. */
export function platformOf(
  platformArn: string | undefined,
  solutionStack: string | undefined,
): 'docker' | 'ecs' {
  return /\bECS\b|Multi-container/i.test(`${platformArn ?? ''} ${solutionStack ?? ''}`) ? 'ecs' : 'docker';
}

export interface Streaming {
  streams: boolean;
  platform: 'docker' | 'ecs';
  /** Log groups to read, the app's own output first. */
  logGroups: string[];
}

/** Whether the environment streams its instance logs, and to which groups (DescribeConfigurationSettings). */
export async function streamingOf(
  eb: ElasticBeanstalkClient,
  env: { application: string; environment: string },
): Promise<Streaming> {
  const out = await eb.send(
    new DescribeConfigurationSettingsCommand({
      ApplicationName: env.application,
      EnvironmentName: env.environment,
    }),
  );
  const settings = out.ConfigurationSettings?.[0];
  const streams = (settings?.OptionSettings ?? []).some(
    (o) =>
      o.Namespace === STREAM_NAMESPACE && o.OptionName === 'StreamLogs' && o.Value?.toLowerCase() === 'true',
  );
  const platform = platformOf(settings?.PlatformArn, settings?.SolutionStackName);
  return {
    streams,
    platform,
    logGroups: STREAMED_FILES[platform].map((f) => logGroupName(env.environment, f)),
  };
}

/**
 * The last `limit` lines of one instance's stream in one group (GetLogEvents, startFromHead false:
 * the newest events; CloudWatch Logs API reference). Undefined when the group or the instance's
 * stream does not exist (ResourceNotFoundException: not streamed on this platform, or nothing yet).
 */
export async function lastLines(
  client: CloudWatchLogsClient,
  logGroupName: string,
  instanceId: string,
  limit: number,
): Promise<string | undefined> {
  try {
    const out = await client.send(
      new GetLogEventsCommand({ logGroupName, logStreamName: instanceId, startFromHead: false, limit }),
    );
    return (out.events ?? []).map((e) => e.message ?? '').join('\n');
  } catch (err) {
    if (err instanceof ResourceNotFoundException || (err as Error).name === 'ResourceNotFoundException')
      return undefined;
    throw err;
  }
}
