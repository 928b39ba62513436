import type { AlertLink } from './model.js';

/**
 * Console links for an alert, built from the partition and region of the execution's ARN. Behind a
 * custom endpoint (the local stand-in, or any AWS_ENDPOINT_URL*) there is no console to link to, so
 * there are none, as `ebship follow` does.
 */
export interface LinkTarget {
  /** The Step Functions execution ARN: its partition and region place every other link. */
  executionArn?: string;
  /** Falls back to this region (the Lambda's own) when there is no execution ARN. */
  region?: string;
  application?: string;
  environment?: string;
  /** `e-...`: EB's console addresses environments by id. */
  environmentId?: string;
}

/** Console host per partition: aws, aws-cn (China), aws-us-gov (GovCloud). */
export function consoleHost(partition: string, region: string): string | undefined {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return undefined;
  switch (partition) {
    case 'aws':
      return `${region}.console.aws.amazon.com`;
    case 'aws-cn':
      return 'console.amazonaws.cn';
    case 'aws-us-gov':
      return 'console.amazonaws-us-gov.com';
    default:
      return undefined;
  }
}

/** True when the SDK talks to something other than AWS (AWS_ENDPOINT_URL or a per-service one). */
export function customEndpoint(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.keys(env).some((k) => k === 'AWS_ENDPOINT_URL' || k.startsWith('AWS_ENDPOINT_URL_'));
}

export function consoleLinks(t: LinkTarget, env: NodeJS.ProcessEnv = process.env): AlertLink[] {
  if (customEndpoint(env)) return [];
  const arn = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):/.exec(t.executionArn ?? '');
  const partition = arn?.[1] ?? partitionOf(t.region ?? '');
  const region = arn?.[2] ?? t.region ?? '';
  const host = consoleHost(partition, region);
  if (!host) return [];
  const base = `https://${host}`;
  const q = `region=${region}`;
  const links: AlertLink[] = [];
  if (t.environment && t.environmentId) {
    const id = encodeURIComponent(t.environmentId);
    links.push(
      {
        label: 'Environment events',
        url: `${base}/elasticbeanstalk/home?${q}#/environment/events?environmentId=${id}`,
      },
      {
        label: 'Environment health',
        url: `${base}/elasticbeanstalk/home?${q}#/environment/health?environmentId=${id}`,
      },
    );
  } else if (t.application) {
    links.push({
      label: 'Application environments',
      url: `${base}/elasticbeanstalk/home?${q}#/application/overview?applicationName=${encodeURIComponent(t.application)}`,
    });
  }
  if (t.executionArn) {
    links.push({
      label: 'Step Functions execution',
      url: `${base}/states/home?${q}#/v2/executions/details/${t.executionArn}`,
    });
  }
  if (t.environment) {
    // EB streams instance logs to /aws/elasticbeanstalk/<environment>/<log path> when streaming is on.
    // The CloudWatch console's fragment escapes '?', '=' and '%' as $3F, $3D and $25.
    const filter = encodeURIComponent(`/aws/elasticbeanstalk/${t.environment}/`).replace(/%/g, '$25');
    links.push({
      label: 'CloudWatch log groups',
      url: `${base}/cloudwatch/home?${q}#logsV2:log-groups$3FlogGroupNameFilter$3D${filter}`,
    });
  }
  return links;
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
