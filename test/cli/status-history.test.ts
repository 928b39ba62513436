import { DescribeEnvironmentsCommand, ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { putLastGood, recordDeployment } from '../../lib/store/deployments.js';
import { cli, DIGEST, execArn, type LocalTable, OLD_DIGEST, pointSdkAt, startTable } from './harness.js';

const sfn = mockClient(SFNClient);
const eb = mockClient(ElasticBeanstalkClient);
let table: LocalTable;
const ANTENNA = { application: 'antenna', environment: 'antenna-prod' };
const RUNNING = 'antenna-prod-manual-3f2a9c1b7d4e-20250602T090000';

beforeAll(async () => {
  table = await startTable();
  await putLastGood(table.db, 'ebship-dev', ANTENNA, {
    versionLabel: 'v1.4.1-0b1c2d3e4f5a',
    imageDigest: OLD_DIGEST,
    deployedAt: '2025-06-01T10:00:00.000Z',
    executionId: execArn('earlier'),
  });
  const base = { ...ANTENNA, target: 'antenna-prod', imageUri: `r/antenna-backend@${DIGEST}` };
  await recordDeployment(table.db, 'ebship-dev', {
    ...base,
    executionId: execArn('first'),
    trigger: 'push',
    fromVersion: 'v1.4.0-aaaaaaaaaaaa',
    toVersion: 'v1.4.1-0b1c2d3e4f5a',
    outcome: 'SUCCEEDED',
    startedAt: '2025-06-01T09:55:00.000Z',
    endedAt: '2025-06-01T10:00:00.000Z',
    durationSeconds: 300,
  });
  await recordDeployment(table.db, 'ebship-dev', {
    ...base,
    executionId: execArn('second'),
    trigger: 'manual',
    fromVersion: 'v1.4.1-0b1c2d3e4f5a',
    toVersion: 'v1.4.2-3f2a9c1b7d4e',
    outcome: 'ROLLED_BACK',
    reason: 'CheckHealth: Red (Severe): 100.0 % of the requests are failing with HTTP 5xx.',
    startedAt: '2025-06-02T09:00:00.000Z',
    endedAt: '2025-06-02T09:07:05.000Z',
    durationSeconds: 425,
  });
});
afterAll(async () => {
  await table.close();
});

beforeEach(async () => {
  sfn.reset();
  eb.reset();
  pointSdkAt(table);
  eb.on(DescribeEnvironmentsCommand, { ApplicationName: 'antenna' }).resolves({
    Environments: [
      {
        EnvironmentName: 'antenna-prod',
        VersionLabel: 'v1.4.1-0b1c2d3e4f5a',
        Status: 'Ready',
        Health: 'Green',
        HealthStatus: 'Ok',
      },
    ],
  });
  eb.on(DescribeEnvironmentsCommand, { ApplicationName: 'treasury-plane' }).resolves({ Environments: [] });
  await table.db.send(
    new DeleteCommand({ TableName: 'ebship-dev', Key: { pk: 'ENV#antenna/antenna-prod', sk: 'LOCK' } }),
  );
});
afterEach(() => {
  vi.unstubAllEnvs();
});

async function lockBy(name: string): Promise<void> {
  await table.db.send(
    new PutCommand({
      TableName: 'ebship-dev',
      Item: {
        pk: 'ENV#antenna/antenna-prod',
        sk: 'LOCK',
        owner: execArn(name),
        versionLabel: 'v1.4.3-9999aaaabbbb',
        imageDigest: DIGEST,
        acquiredAt: '2025-06-02T11:00:00.000Z',
        leaseUntil: '2999-01-01T00:00:00.000Z',
      },
    }),
  );
}

describe('ebship status', () => {
  it('shows the deployed version and health, the last good version and the running execution', async () => {
    // Arrange
    await lockBy(RUNNING);
    sfn
      .on(DescribeExecutionCommand, { executionArn: execArn(RUNNING) })
      .resolves({ name: RUNNING, status: 'RUNNING' });

    // Act
    const r = await cli(['status', 'antenna-prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('antenna-prod  (antenna/antenna-prod)');
    expect(r.stdout).toMatch(/deployed\s+v1\.4\.1-0b1c2d3e4f5a\s+Ready, Green \(Ok\)/);
    expect(r.stdout).toMatch(/last good\s+v1\.4\.1-0b1c2d3e4f5a\s+deployed 2025-06-01 10:00:00 UTC/);
    expect(r.stdout).toMatch(
      new RegExp(`running\\s+${RUNNING}\\s+RUNNING, v1\\.4\\.3-9999aaaabbbb since 2025-06-02 11:00:00 UTC`),
    );
    expect(r.stdout).toContain(`follow it: ebship follow ${RUNNING}`);
  });

  it('covers every target as JSON, and exits 1 when an environment cannot be found', async () => {
    // Act
    const r = await cli(['status', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.Findings);
    const out = r.json<{
      targets: {
        target: string;
        deployed?: unknown;
        deployedError?: string;
        lastGood?: unknown;
        running?: unknown;
      }[];
    }>();
    expect(out.targets.map((t) => t.target)).toEqual(['antenna-prod', 'treasury-plane-dev']);
    expect(out.targets[0]).toMatchObject({
      deployed: { versionLabel: 'v1.4.1-0b1c2d3e4f5a', status: 'Ready', health: 'Green' },
      lastGood: { versionLabel: 'v1.4.1-0b1c2d3e4f5a' },
    });
    expect(out.targets[0]?.running).toBeUndefined();
    expect(out.targets[1]?.deployedError).toContain(
      'EB environment treasury-plane-dev of application treasury-plane does not exist',
    );
    expect(out.targets[1]?.lastGood).toBeUndefined();
  });

  it('says how to deploy ebship when the stage has no table (exit 2)', async () => {
    // Act
    const r = await cli(['status', 'antenna-prod', '--stage', 'prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain(
      'DynamoDB table ebship-prod does not exist in us-east-1; deploy ebship with `npx serverless deploy --stage prod`',
    );
  });

  it('rejects an unknown target (exit 2)', async () => {
    // Act
    const r = await cli(['status', 'antenna']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('unknown target "antenna"; known targets: antenna-prod, treasury-plane-dev');
  });
});

describe('ebship history', () => {
  it('lists deployments newest first: when, trigger, from -> to, outcome, duration and why', async () => {
    // Act
    const r = await cli(['history', 'antenna-prod']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    const lines = r.stdout.split('\n');
    const second = lines.findIndex((l) => l.includes('2025-06-02 09:00:00 UTC'));
    const first = lines.findIndex((l) => l.includes('2025-06-01 09:55:00 UTC'));
    expect(second).toBeGreaterThan(0);
    expect(first).toBeGreaterThan(second);
    expect(lines[second]).toMatch(
      /manual\s+v1\.4\.1-0b1c2d3e4f5a -> v1\.4\.2-3f2a9c1b7d4e\s+rolled back\s+7m 5s\s+CheckHealth: Red \(Severe\)/,
    );
    expect(lines[first]).toMatch(/push\s+v1\.4\.0-aaaaaaaaaaaa -> v1\.4\.1-0b1c2d3e4f5a\s+deployed\s+5m 0s/);
  });

  it('honours --limit and prints JSON', async () => {
    // Act
    const r = await cli(['history', 'antenna-prod', '--limit', '1', '--json']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    const out = r.json<{ entries: { toVersion: string; outcome: string; executionId: string }[] }>();
    expect(out.entries).toHaveLength(1);
    expect(out.entries[0]).toMatchObject({
      toVersion: 'v1.4.2-3f2a9c1b7d4e',
      outcome: 'ROLLED_BACK',
      executionId: execArn('second'),
    });
  });

  it('says when nothing was deployed yet', async () => {
    // Act
    const r = await cli(['history', 'treasury-plane-dev']);

    // Assert
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.stdout).toContain('No deployments recorded yet.');
  });

  it.each(['0', '-3', 'ten', '1000'])('rejects --limit %s (exit 2)', async (limit) => {
    // Act
    const r = await cli(['history', 'antenna-prod', '--limit', limit]);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain('--limit must be a whole number from 1 to 200');
  });

  it('needs a target (exit 2)', async () => {
    // Act
    const r = await cli(['history']);

    // Assert
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain("missing required argument 'target'");
  });
});
