import { DescribeEnvironmentsCommand, ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { putLastGood } from '../../lib/store/deployments.js';
import { claimDrift } from '../../lib/store/reconcile.js';
import { cli, execArn, type LocalTable, OLD_DIGEST, pointSdkAt, startTable } from './harness.js';

const sfn = mockClient(SFNClient);
const eb = mockClient(ElasticBeanstalkClient);
let table: LocalTable;
const ANTENNA = { application: 'antenna', environment: 'antenna-prod' };

beforeAll(async () => {
  table = await startTable();
  await putLastGood(table.db, 'ebship-dev', ANTENNA, {
    versionLabel: 'v1.4.1-0b1c2d3e4f5a',
    imageDigest: OLD_DIGEST,
    deployedAt: '2025-06-01T10:00:00.000Z',
    executionId: execArn('earlier'),
  });
});
afterAll(async () => {
  await table.close();
});
beforeEach(() => {
  sfn.reset();
  eb.reset();
  pointSdkAt(table);
  eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [
      {
        EnvironmentName: 'antenna-prod',
        VersionLabel: 'hotfix-from-console',
        Status: 'Ready',
        Health: 'Green',
      },
    ],
  });
});

describe('ebship status and drift', () => {
  it('shows no drift row while the reconciler found none', async () => {
    const r = await cli(['status', 'antenna-prod']);

    expect(r.stdout).not.toMatch(/drift/);
  });

  it('shows the version the reconciler found running that ebship did not deploy', async () => {
    await claimDrift(
      table.db,
      'ebship-dev',
      ANTENNA,
      { versionLabel: 'hotfix-from-console', recordedLabel: 'v1.4.1-0b1c2d3e4f5a', covered: false },
      new Date('2025-06-02T12:05:00.000Z'),
    );

    const r = await cli(['status', 'antenna-prod']);
    const json = await cli(['status', 'antenna-prod', '--json']);

    expect(r.stdout).toMatch(
      /drift\s+hotfix-from-console\s+not deployed by ebship, found 2025-06-02 12:05:00 UTC \(reconciler\)/,
    );
    expect(json.json<{ targets: { drift?: unknown }[] }>().targets[0]?.drift).toEqual({
      versionLabel: 'hotfix-from-console',
      recordedLabel: 'v1.4.1-0b1c2d3e4f5a',
      since: '2025-06-02T12:05:00.000Z',
    });
  });
});
