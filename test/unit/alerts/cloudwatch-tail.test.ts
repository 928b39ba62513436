import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
  DescribeInstancesHealthCommand,
  ElasticBeanstalkClient,
  RequestEnvironmentInfoCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { requestTail, retrieveTail } from '../../../lib/alerts/log-tail.js';

/**
 * The tail from CloudWatch Logs when the environment streams there (EB developer guide, "Using
 * Elastic Beanstalk with Amazon CloudWatch Logs": option aws:elasticbeanstalk:cloudwatch:logs
 * StreamLogs; groups /aws/elasticbeanstalk/<env>/<file>, one stream per instance id; CloudWatch
 * Logs API reference, GetLogEvents with startFromHead false reads the newest events).
 */
const ebMock = mockClient(ElasticBeanstalkClient);
const logsMock = mockClient(CloudWatchLogsClient);
const eb = new ElasticBeanstalkClient({ region: 'us-east-1' });
const logs = new CloudWatchLogsClient({ region: 'us-east-1' });
const ENV = { application: 'treasury-plane', environment: 'treasury-plane-dev' };
const APP =
  '/aws/elasticbeanstalk/treasury-plane-dev/var/log/eb-docker/containers/eb-current-app/stdouterr.log';
const ENGINE = '/aws/elasticbeanstalk/treasury-plane-dev/var/log/eb-engine.log';
const notFound = () =>
  Object.assign(new Error('The specified log stream does not exist.'), { name: 'ResourceNotFoundException' });

function streaming(on: boolean) {
  ebMock.on(DescribeConfigurationSettingsCommand).resolves({
    ConfigurationSettings: [
      {
        PlatformArn:
          'arn:aws:elasticbeanstalk:us-east-1::platform/Docker running on 64bit Amazon Linux 2023/4.5.0',
        OptionSettings: [
          { Namespace: 'aws:elasticbeanstalk:cloudwatch:logs', OptionName: 'StreamLogs', Value: String(on) },
        ],
      },
    ],
  });
}

beforeEach(() => {
  ebMock.reset();
  logsMock.reset();
  ebMock.on(DescribeEnvironmentsCommand).resolves({ Environments: [{ EnvironmentId: 'e-1' }] });
  ebMock.on(DescribeInstancesHealthCommand).resolves({
    InstanceHealthList: [
      { InstanceId: 'i-0good', Color: 'Green', Deployment: { VersionLabel: 'v1', Status: 'Deployed' } },
      { InstanceId: 'i-0bad', Color: 'Red', Deployment: { VersionLabel: 'v2', Status: 'Failed' } },
    ],
  });
  logsMock.on(GetLogEventsCommand).rejects(notFound());
});

describe('the log tail from CloudWatch Logs', () => {
  it('an environment that streams: nothing is asked of the instances, the failing instance is read first, masked', async () => {
    streaming(true);
    logsMock.on(GetLogEventsCommand, { logGroupName: APP, logStreamName: 'i-0bad' }).resolves({
      events: [
        { timestamp: 1, message: 'Traceback (most recent call last):' },
        { timestamp: 2, message: 'redis.exceptions.ConnectionError: rediss://:hunter2-broker@cache:6379/0' },
      ],
    });
    logsMock.on(GetLogEventsCommand, { logGroupName: APP, logStreamName: 'i-0good' }).resolves({
      events: [{ timestamp: 1, message: 'GET /health 200' }],
    });

    const requested = await requestTail(eb, ENV, new Date());
    const tail = await retrieveTail(eb, ENV, requested, undefined, logs);

    expect(ebMock.commandCalls(RequestEnvironmentInfoCommand)).toHaveLength(0);
    expect(requested).toMatchObject({ source: 'cloudwatch', logGroups: [APP, ENGINE] });
    expect(tail.done).toBe(true);
    expect(tail.logTails.map((t) => [t.instanceId, t.source])).toEqual([
      ['i-0bad', APP],
      ['i-0good', APP],
    ]);
    expect(tail.logTails[0]?.lines).toContain('ConnectionError');
    expect(tail.logTails[0]?.lines).not.toContain('hunter2');
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logStreamName: 'i-0bad',
      startFromHead: false,
      limit: 100,
    });
  });

  it('a group or stream that does not exist is skipped; an instance with none is named in the note', async () => {
    streaming(true);
    logsMock.on(GetLogEventsCommand, { logGroupName: ENGINE, logStreamName: 'i-0bad' }).resolves({
      events: [
        { timestamp: 1, message: '[ERROR] An error occurred during execution of command [app-deploy]' },
      ],
    });

    const tail = await retrieveTail(eb, ENV, await requestTail(eb, ENV, new Date()), undefined, logs);

    expect(tail.logTails.map((t) => [t.instanceId, t.source])).toEqual([['i-0bad', ENGINE]]);
    expect(tail.note).toContain('no CloudWatch Logs stream for i-0good');
  });

  it('an environment that does not stream: EB tail logs as before', async () => {
    streaming(false);
    const requested = await requestTail(eb, ENV, new Date());

    expect(requested.source).toBe('eb');
    expect(ebMock.commandCalls(RequestEnvironmentInfoCommand)).toHaveLength(1);
  });

  it('source eb is EB tail logs even when the environment streams', async () => {
    streaming(true);
    const requested = await requestTail(eb, ENV, new Date(), 'eb');

    expect(requested.source).toBe('eb');
    expect(ebMock.commandCalls(DescribeConfigurationSettingsCommand)).toHaveLength(0);
  });
});
