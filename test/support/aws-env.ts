/**
 * The AWS environment of in-process handler runs: the names serverless.yml would set, dummy
 * credentials, DynamoDB on an in-process dynalite (real conditional-write semantics), S3 on the
 * stand-in's S3 in this process, and aws-sdk-client-mock for every other client the handlers use.
 *
 * Import it before anything that creates AWS clients: they read the endpoint when built.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeAccountAttributesCommand,
  DescribeApplicationsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
  ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createDeployTableCommand } from '../../lib/store/table.js';
import { freePort } from '../../standin/ports.js';
import { ServiceError } from '../../standin/protocol.js';
import { S3Store, type StoredObject, s3ErrorReply } from '../../standin/services/s3.js';

export const REGION = 'us-east-1';
export const TABLE = 'ebship-test';
export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ebship-test-alerts';
export const BUCKET = 'ebship-test-bundles';
export const MIGRATION_DOCUMENT = 'ebship-test-migration-check';
// Test files run in separate processes: each asks the OS for a free port (a port derived from the
// pid could collide with another file's).
const DYNAMO_PORT = await freePort();
const S3_PORT = await freePort();

process.env.AWS_REGION = REGION;
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${DYNAMO_PORT}`;
process.env.TABLE_NAME = TABLE;
process.env.BUNDLE_BUCKET = BUCKET;
process.env.ALERT_TOPIC_ARN = TOPIC;
process.env.MIGRATION_DOCUMENT_NAME = MIGRATION_DOCUMENT;
process.env.EBSHIP_CONFIG = 'ebship.yml';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// The mocked EB here answers each environment's own calls on a timeline that advances per health
// poll: these runs watch the old way, each execution reading EB itself. The fleet's shared read is
// tested through the stand-in (test/standin/fleet-read.test.ts).
process.env.EBSHIP_HEALTH_READ ??= 'direct';

/** Every AWS client the handlers use but DynamoDB; reset them before each test. */
export const mocks = {
  eb: mockClient(ElasticBeanstalkClient),
  ecr: mockClient(ECRClient),
  secrets: mockClient(SecretsManagerClient),
  ssm: mockClient(SSMClient),
  sns: mockClient(SNSClient),
  sfn: mockClient(SFNClient),
  cloudwatch: mockClient(CloudWatchClient),
};

/**
 * S3 here is the stand-in's (standin/services/s3.ts), served on a port of this process: BuildBundle's
 * upload is a signed HTTP PUT, not an SDK client a mock could intercept, so it goes over the wire as
 * on AWS. Call `reset()` before each test; `fail()` answers the next requests with an S3 error.
 */
export const s3 = {
  store: new S3Store(),
  /** The requests served, in order: method, path and headers. */
  requests: [] as { method: string; path: string; headers: Record<string, string | string[] | undefined> }[],
  failures: [] as ServiceError[],
  reset(): void {
    this.store = new S3Store();
    this.store.createBucket(BUCKET);
    this.requests = [];
    this.failures = [];
  },
  /** The next `times` requests get this S3 error (e.g. 403 AccessDenied, 503 SlowDown) instead. */
  fail(code: string, message: string, status: number, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(new ServiceError(code, message, status));
  },
  /** An object of the test bucket, if it was put. */
  object(key: string): StoredObject | undefined {
    return this.store.get(BUCKET, key);
  },
  keys(): string[] {
    return [...(this.store.buckets.get(BUCKET)?.keys() ?? [])];
  },
};
s3.reset();
const s3Server = createServer((req, res) => {
  s3.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
  const failure = s3.failures.shift();
  if (failure) req.resume();
  const reply = failure ? Promise.resolve(s3ErrorReply(failure, req.method ?? 'GET')) : s3.store.handle(req);
  void reply.then((r) => {
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  });
});
await new Promise<void>((resolve) => s3Server.listen(S3_PORT, '127.0.0.1', resolve));
s3Server.unref();
process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${S3_PORT}`;
process.env.EBSHIP_S3_PATH_STYLE = 'true';

/**
 * DescribeAlarms answers every alarm asked for (health.alarms) as OK since long before the deploy,
 * unless `states` says otherwise. Call it after resetting the mocks.
 */
export function answerAlarms(
  states: Record<string, { state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA'; reason?: string; since?: Date }> = {},
): void {
  mocks.cloudwatch.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames?: string[] }) => ({
    MetricAlarms: (input.AlarmNames ?? []).map((name) => ({
      AlarmName: name,
      StateValue: states[name]?.state ?? 'OK',
      StateReason: states[name]?.reason ?? 'Threshold Crossed: no datapoint was greater than the threshold.',
      StateTransitionedTimestamp: states[name]?.since ?? new Date('2026-01-01T00:00:00Z'),
    })),
  }));
}

/**
 * EB answers CreateAppVersion's preflight as for a healthy target: antenna-prod live on the ECS
 * platform with enhanced health, and room for versions (quota 1,000, none counted). Call it after
 * resetting the mocks; a test changes one answer by mocking that command again.
 */
export function environmentPassesPreflight(
  platform: { SolutionStackName: string } | { PlatformArn: string } = {
    SolutionStackName: '64bit Amazon Linux 2023 v4.4.0 running ECS',
  },
): void {
  mocks.eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      { ApplicationName: 'antenna', EnvironmentName: 'antenna-prod', Status: 'Ready', ...platform },
    ],
  });
  mocks.eb.on(DescribeConfigurationSettingsCommand).resolves({
    ConfigurationSettings: [
      {
        OptionSettings: [
          {
            Namespace: 'aws:elasticbeanstalk:healthreporting:system',
            OptionName: 'SystemType',
            Value: 'enhanced',
          },
        ],
      },
    ],
  });
  mocks.eb
    .on(DescribeAccountAttributesCommand)
    .resolves({ ResourceQuotas: { ApplicationVersionQuota: { Maximum: 1000 } } });
  mocks.eb.on(DescribeApplicationsCommand).resolves({ Applications: [{ ApplicationName: 'antenna' }] });
}

// dynalite ships no type declarations; this is the one call made.
const dynalite: (options: { createTableMs: number }) => Server = createRequire(import.meta.url)('dynalite');

/** A client on the dynalite the handlers use. */
export const dynamoClient = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });

/** Starts dynalite on this process's port with an empty ebship table; returns a stop function. */
export async function startDynamo(): Promise<() => Promise<void>> {
  const server = dynalite({ createTableMs: 0 });
  // The endpoint is fixed when the clients first resolve it, so the port cannot change: wait for it instead.
  for (let attempt = 1; ; attempt += 1) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(DYNAMO_PORT, '127.0.0.1', () => resolve(undefined));
    });
    if (!error) break;
    if (error.code !== 'EADDRINUSE' || attempt >= 20)
      throw new Error(`dynalite cannot listen on 127.0.0.1:${DYNAMO_PORT}: ${error.message}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await dynamoClient.send(createDeployTableCommand(TABLE));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
