import { DescribeEnvironmentsCommand, type ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';

export interface EnvironmentView {
  application: string;
  environment: string;
  environmentId?: string;
  status: string;
  versionLabel?: string;
}

/**
 * An application's environments in one DescribeEnvironments (ApplicationName plus every name):
 * one of EB's throttled Describe* calls however many environments it has. Per application because
 * that is the call shape ebship's roles already use (IAM on `environment/<application>/<name>`);
 * EB's API would take the names alone (unique in an account and region: EB API reference,
 * CreateEnvironment), but how IAM authorises such a call is not documented. Terminated
 * environments are left out (IncludeDeleted false); pages are followed (NextToken).
 */
export async function describeEnvironmentsOf(
  client: ElasticBeanstalkClient,
  application: string,
  names: string[],
): Promise<EnvironmentView[]> {
  const out: EnvironmentView[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeEnvironmentsCommand({
        ApplicationName: application,
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
