import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * AWS clients, created once per process (Lambda reuses them across invocations).
 * Endpoints come from the SDK's own settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>):
 * that is the only thing that differs between AWS and the local stand-in.
 * EB's Describe* calls are throttled at about 2/s with a burst of 15, so its client retries
 * adaptively (client-side rate limiting) with more attempts than the default 3.
 */
export const eb = new ElasticBeanstalkClient({ retryMode: 'adaptive', maxAttempts: 6 });
export const ecr = new ECRClient({});
export const secretsManager = new SecretsManagerClient({});
export const ssm = new SSMClient({});
export const sns = new SNSClient({});
export const s3 = new S3Client({ forcePathStyle: process.env.EBSHIP_S3_PATH_STYLE === 'true' });
export const sfn = new SFNClient({});
export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
