import { DescribeEnvironmentsCommand, type ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';

export interface EnvironmentView {
  application: string;
  environment: string;
  environmentId?: string;
  status: string;
  versionLabel?: string;
}

/**
 * Several environments in one DescribeEnvironments per application (ApplicationName plus every
 * environment name of it): one of EB's throttled Describe* calls however many environments an
 * application has. Per application, because that is the call shape ebship's roles are already
 * granted and proven with (IAM on `environment/<application>/<name>`); EB's API would take the
 * names alone (they are unique in an account and region: EB API reference, CreateEnvironment), but
 * how IAM authorises such a call is not documented. Terminated environments are left out
 * (IncludeDeleted false); pages are followed (NextToken).
 */
export async function describeEnvironmentsByName(
  client: ElasticBeanstalkClient,
  refs: { application: string; environment: string }[],
): Promise<EnvironmentView[]> {
  const out: EnvironmentView[] = [];
  const byApplication = new Map<string, Set<string>>();
  for (const r of refs)
    byApplication.set(r.application, (byApplication.get(r.application) ?? new Set()).add(r.environment));
  for (const [application, names] of byApplication) {
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new DescribeEnvironmentsCommand({
          ApplicationName: application,
          EnvironmentNames: [...names],
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
  }
  return out;
}
