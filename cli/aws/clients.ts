import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The CLI's AWS clients, created in this one place. Region and profile follow the AWS CLI's
 * conventions (flag, then environment, then the profile); endpoints only come from the SDK's own
 * settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), which is how the local stand-in is reached.
 */
export interface AwsClients {
  sfn: SFNClient;
  eb: ElasticBeanstalkClient;
  ecr: ECRClient;
  db: DynamoDBDocumentClient;
  /** `ebship doctor`: whether instances are SSM-managed. */
  ssm: SSMClient;
  /** `ebship doctor`: the policy simulator and the secrets' ARNs and keys. */
  iam: IAMClient;
  secrets: SecretsManagerClient;
  /** `ebship logs`: the tail of environments that stream their logs to CloudWatch Logs. */
  logs?: CloudWatchLogsClient;
  /** `ebship approve` / `reject`: who answers (GetCallerIdentity). */
  sts?: STSClient;
  /** The region the clients use, resolved like the SDK does (throws when there is none). */
  region(): Promise<string>;
}

export interface ClientOptions {
  region?: string;
  profile?: string;
}

export function createClients(options: ClientOptions): AwsClients {
  const common = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const sfn = new SFNClient(common);
  return {
    sfn,
    // EB Describe* calls are throttled at about 2/s: retry adaptively, like the Lambdas do.
    eb: new ElasticBeanstalkClient({ ...common, retryMode: 'adaptive', maxAttempts: 6 }),
    ecr: new ECRClient(common),
    ssm: new SSMClient(common),
    iam: new IAMClient(common),
    secrets: new SecretsManagerClient(common),
    logs: new CloudWatchLogsClient(common),
    sts: new STSClient(common),
    db: DynamoDBDocumentClient.from(new DynamoDBClient(common), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    region: () => sfn.config.region(),
  };
}
