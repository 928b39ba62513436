import { DescribeEnvironmentsCommand, type ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';

export interface EnvironmentView {
  application: string;
  environment: string;
  environmentId?: string;
  status: string;
  versionLabel?: string;
}

/**
 * Several environments in one DescribeEnvironments: names are unique within an account and region
 * (EB API reference, CreateEnvironment, EnvironmentName), so no ApplicationName is needed, and the
 * call is one of EB's throttled Describe* calls however many targets there are. Terminated
 * environments are left out (IncludeDeleted false); pages are followed (NextToken).
 */
export async function describeEnvironmentsByName(
  client: ElasticBeanstalkClient,
  names: string[],
): Promise<EnvironmentView[]> {
  const out: EnvironmentView[] = [];
  if (names.length === 0) return out;
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeEnvironmentsCommand({
        EnvironmentNames: [...new Set(names)],
        IncludeDeleted: false,
        NextToken: nextToken,
      }),
    );
    for (const e of page.Environments ?? []) {
      if (!e.ApplicationName || !e.EnvironmentName || e.Status === 'Terminated') continue;
      out.push({
        application: e.ApplicationName,
        environment: e.EnvironmentName,
        environmentId: e.EnvironmentId,
        status: e.Status ?? 'Unknown',
        versionLabel: e.VersionLabel,
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return out;
}
