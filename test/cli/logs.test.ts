import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
  DescribeInstancesHealthCommand,
  ElasticBeanstalkClient,
  RequestEnvironmentInfoCommand,
  RetrieveEnvironmentInfoCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { cli } from './harness.js';

const eb = mockClient(ElasticBeanstalkClient);
const cw = mockClient(CloudWatchLogsClient);

/** What one instance uploads for InfoType=tail: each log file's last lines under a header. */
const TAIL = [
  '----------------------------------------',
  '/var/log/eb-engine.log',
  '----------------------------------------',
  '2026/12/01 10:00:00.000000 [INFO] Executing instruction: StageApplication',
  '',
  '----------------------------------------',
  '/var/log/containers/celery-worker-stdouterr.log',
  '----------------------------------------',
  '[2026-12-01 10:00:01,000: ERROR/MainProcess] consumer: Cannot connect to rediss://:broker-pass-123@cache:6379/0',
  'ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed',
].join('\n');

let server: Server;
let base = '';
beforeAll(async () => {
  // EB's presigned S3 URLs (RetrieveEnvironmentInfo's Message) are plain GETs: a local server stands in.
  server = createServer((req, res) => {
    res.writeHead(req.url?.includes('missing') ? 404 : 200, { 'content-type': 'text/plain' });
    res.end(TAIL);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  eb.reset();
  cw.reset();
  eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [{ EnvironmentName: 'antenna-prod', EnvironmentId: 'e-abc', ApplicationName: 'antenna' }],
  });
  eb.on(DescribeInstancesHealthCommand).resolves({
    InstanceHealthList: [
      {
        InstanceId: 'i-0aaaaaaaaaaaaaaa1',
        Color: 'Red',
        Deployment: { VersionLabel: 'v2-bad', Status: 'Deployed' },
      },
      {
        InstanceId: 'i-0aaaaaaaaaaaaaaa2',
        Color: 'Green',
        Deployment: { VersionLabel: 'v1-good', Status: 'Deployed' },
      },
    ],
  });
  eb.on(RequestEnvironmentInfoCommand).resolves({});
});

function samples(at: Date) {
  return {
    EnvironmentInfo: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'].map((id) => ({
      InfoType: 'tail' as const,
      Ec2InstanceId: id,
      SampleTimestamp: at,
      Message: `${base}/elasticbeanstalk-us-east-1-123456789012/tail/${id}.txt?X-Amz-Signature=x`,
    })),
  };
}

describe('ebship logs', () => {
  // EB API reference: RequestEnvironmentInfo starts the compile; RetrieveEnvironmentInfo lists the
  // samples (presigned S3 URLs) once the instances uploaded them, older samples included.
  it("polls until every instance sent a tail newer than the request, then prints each one's app lines, masked", async () => {
    eb.on(RetrieveEnvironmentInfoCommand)
      .resolvesOnce({ EnvironmentInfo: [] })
      .resolves(samples(new Date(Date.now() + 60_000)));

    const run = await cli(['logs', 'antenna-prod']);

    expect(run.code).toBe(ExitCode.Ok);
    expect(eb.commandCalls(RequestEnvironmentInfoCommand)[0]?.args[0].input).toEqual({
      EnvironmentName: 'antenna-prod',
      InfoType: 'tail',
    });
    expect(eb.commandCalls(RetrieveEnvironmentInfoCommand)).toHaveLength(2);
    expect(run.stdout).toContain(
      'i-0aaaaaaaaaaaaaaa1 (v2-bad): /var/log/containers/celery-worker-stdouterr.log',
    );
    expect(run.stdout).toContain('  ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]');
    expect(run.stdout).not.toContain('broker-pass-123');
    expect(run.stdout).toContain('rediss://:***@cache:6379/0');
  });

  it('--instance prints that instance only; --json gives instances, versions and lines', async () => {
    eb.on(RetrieveEnvironmentInfoCommand).resolves(samples(new Date(Date.now() + 60_000)));

    const one = await cli(['logs', 'antenna-prod', '--instance', 'i-0aaaaaaaaaaaaaaa2']);
    const json = await cli(['logs', 'antenna-prod', '--json']);

    expect(one.stdout).toContain('i-0aaaaaaaaaaaaaaa2 (v1-good)');
    expect(one.stdout).not.toContain('i-0aaaaaaaaaaaaaaa1');
    const doc = json.json<{ instances: { instanceId: string; versionLabel: string; lines: string }[] }>();
    expect(doc.instances.map((i) => [i.instanceId, i.versionLabel])).toEqual([
      ['i-0aaaaaaaaaaaaaaa1', 'v2-bad'],
      ['i-0aaaaaaaaaaaaaaa2', 'v1-good'],
    ]);
    expect(doc.instances[0]?.lines).toContain('SSLCertVerificationError');
  });

  it('ignores samples older than its request and exits 1 when no instance answered in time', async () => {
    eb.on(RetrieveEnvironmentInfoCommand).resolves(samples(new Date('2020-01-01T00:00:00Z')));

    const run = await cli(['logs', 'antenna-prod']);

    expect(run.code).toBe(ExitCode.Findings);
    expect(run.stdout).not.toContain('SSLCertVerificationError');
    expect(run.stderr).toContain('no tail from i-0aaaaaaaaaaaaaaa1, i-0aaaaaaaaaaaaaaa2 within 20 polls');
  });

  // EB developer guide, "Using Elastic Beanstalk with Amazon CloudWatch Logs": StreamLogs on, one
  // stream per instance id in /aws/elasticbeanstalk/<env>/<file>.
  describe('when the environment streams its logs to CloudWatch Logs', () => {
    beforeEach(() => {
      eb.on(DescribeConfigurationSettingsCommand).resolves({
        ConfigurationSettings: [
          {
            SolutionStackName: '64bit Amazon Linux 2023 v4.5.0 running Docker',
            OptionSettings: [
              { Namespace: 'aws:elasticbeanstalk:cloudwatch:logs', OptionName: 'StreamLogs', Value: 'true' },
            ],
          },
        ],
      });
      cw.on(GetLogEventsCommand).rejects(
        Object.assign(new Error('The specified log group does not exist.'), {
          name: 'ResourceNotFoundException',
        }),
      );
      cw.on(GetLogEventsCommand, {
        logGroupName:
          '/aws/elasticbeanstalk/antenna-prod/var/log/eb-docker/containers/eb-current-app/stdouterr.log',
      }).resolves({
        events: [{ timestamp: 1, message: 'Error: cannot reach rediss://:broker-pass-123@cache:6379/0' }],
      });
    });

    it('reads the tail from CloudWatch Logs at once, masked, without asking the instances', async () => {
      const run = await cli(['logs', 'antenna-prod']);

      expect(run.code).toBe(ExitCode.Ok);
      expect(eb.commandCalls(RequestEnvironmentInfoCommand)).toHaveLength(0);
      expect(run.stdout).toContain(
        'i-0aaaaaaaaaaaaaaa1 (v2-bad): /aws/elasticbeanstalk/antenna-prod/var/log/eb-docker/containers/eb-current-app/stdouterr.log',
      );
      expect(run.stdout).toContain('rediss://:***@cache:6379/0');
      expect(run.stdout).not.toContain('broker-pass-123');
    });

    it('--source eb asks the instances for EB tail logs instead; an unknown source is a usage error', async () => {
      eb.on(RetrieveEnvironmentInfoCommand).resolves(samples(new Date(Date.now() + 60_000)));

      const run = await cli(['logs', 'antenna-prod', '--source', 'eb']);
      const bad = await cli(['logs', 'antenna-prod', '--source', 's3']);

      expect(eb.commandCalls(RequestEnvironmentInfoCommand)).toHaveLength(1);
      expect(run.stdout).toContain('/var/log/containers/celery-worker-stdouterr.log');
      expect(bad.code).toBe(ExitCode.Usage);
      expect(bad.stderr).toContain('is not a log source');
    });
  });
});
