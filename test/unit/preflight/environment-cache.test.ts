/**
 * Preflight's read-only Describe calls shared between deploys for a short time (issue 13): a fleet
 * pushed at once asks EB each question about an environment once a minute, not once per deploy.
 * DynamoDB is dynalite; EB is mocked.
 */
import {
  DescribeAccountAttributesCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
  ElasticBeanstalkClient,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.js';
import type { Target } from '../../../lib/config/schema.js';
import { inspectEnvironment } from '../../../lib/preflight/environment.js';
import { tableDescribeCache } from '../../../lib/store/describe-cache.js';
import { putSnapshot } from '../../../lib/store/snapshot.js';
import { db, environmentPassesPreflight, mocks, TABLE, useFreshTable } from '../functions/fixtures.js';

const client = new ElasticBeanstalkClient({});
const seeds = loadConfig(new URL('../../fixtures/seeds/ebship.yml', import.meta.url).pathname);
const antenna = seeds.targets['antenna-prod'] as Target;
const ECS_ARN = 'arn:aws:elasticbeanstalk:us-east-1::platform/ECS running on 64bit Amazon Linux 2023/4.4.3';

useFreshTable();

beforeEach(() => {
  mocks.eb.reset();
  environmentPassesPreflight({ PlatformArn: ECS_ARN });
  mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
});

const calls = (command: unknown) =>
  mocks.eb.commandCalls(command as typeof DescribeEnvironmentsCommand).length;

describe('preflight with the describe cache', () => {
  it('asks EB about the environment and the account once for deploys within a minute, again after it', async () => {
    // Arrange
    let now = Date.parse('2026-11-23T10:00:00Z');
    const cache = tableDescribeCache(db, TABLE, () => now);

    // Act
    const first = await inspectEnvironment(client, antenna, { cache });
    now += 30_000;
    const second = await inspectEnvironment(client, antenna, { cache });
    const withinMinute = [
      DescribeEnvironmentsCommand,
      DescribeConfigurationSettingsCommand,
      DescribeAccountAttributesCommand,
    ].map(calls);
    now += 31_000;
    await inspectEnvironment(client, antenna, { cache });

    // Assert: same findings from the cached answers; the environment is asked again after 60 s,
    // its health reporting (5 min) and the account's quota (15 min) are not.
    expect(second).toEqual(first);
    expect(first).toEqual([]);
    expect(withinMinute).toEqual([1, 1, 1]);
    expect(calls(DescribeEnvironmentsCommand)).toBe(2);
    expect(calls(DescribeConfigurationSettingsCommand)).toBe(1);
    expect(calls(DescribeAccountAttributesCommand)).toBe(1);
  });

  it('reads the environment from the health watch snapshot when it is fresh', async () => {
    // Arrange: the fleet's shared read saw the environment 20 s ago, on a Docker platform.
    const now = Date.parse('2026-11-23T10:00:20Z');
    await putSnapshot(db, TABLE, {
      application: 'antenna',
      environment: 'antenna-prod',
      readAt: '2026-11-23T10:00:00.000Z',
      status: 'Ready',
      platformArn:
        'arn:aws:elasticbeanstalk:us-east-1::platform/Docker running on 64bit Amazon Linux 2023/4.4.3',
      events: [],
      eventsFrom: '2026-11-23T10:00:00.000Z',
    });

    // Act
    const findings = await inspectEnvironment(client, antenna, {
      cache: tableDescribeCache(db, TABLE, () => now),
    });

    // Assert: no DescribeEnvironments, and the snapshot's platform is what preflight judged.
    expect(calls(DescribeEnvironmentsCommand)).toBe(0);
    expect(findings.map((f) => f.ruleId)).toEqual(['environment-platform-mismatch']);
  });
});
