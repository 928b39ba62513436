import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeEnvironmentsCommand, ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import { holdPush } from '../../lib/store/freeze.js';
import { recordProof } from '../../lib/store/promotion.js';
import { cli, DIGEST, execArn, type LocalTable, pointSdkAt, startTable } from './harness.js';
import { stateMachineDeployed } from './sfn-fake.js';

// `ebship freeze` / `unfreeze` and `deploy --force` (issue 14), against the real table (dynalite).
const sfn = mockClient(SFNClient);
const ecr = mockClient(ECRClient);
const eb = mockClient(ElasticBeanstalkClient);
let table: LocalTable;
const ENV = { application: 'antenna', environment: 'antenna-prod' };
const KEY = (sk: string) => ({ pk: 'ENV#antenna/antenna-prod', sk });

beforeAll(async () => {
  table = await startTable();
});
afterAll(async () => {
  await table.close();
});

beforeEach(async () => {
  sfn.reset();
  ecr.reset();
  eb.reset();
  pointSdkAt(table);
  stateMachineDeployed(sfn);
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: execArn(input.name),
    startDate: new Date(),
  }));
  ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [
      {
        registryId: '123456789012',
        repositoryName: 'antenna-backend',
        imageDigest: DIGEST,
        imageTags: ['v1.4.2'],
        imagePushedAt: new Date('2025-06-02T08:55:00Z'),
      },
    ],
  });
  eb.on(DescribeEnvironmentsCommand).resolves({
    Environments: [{ EnvironmentName: 'antenna-prod', VersionLabel: 'v1', Status: 'Ready', Health: 'Green' }],
  });
  for (const sk of ['FREEZE', 'HELD', 'LOCK']) {
    await table.db.send(new DeleteCommand({ TableName: 'ebship-dev', Key: KEY(sk) }));
  }
});

function startedInputs(): Record<string, unknown>[] {
  return sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input.input ?? '{}'));
}

describe('ebship freeze', () => {
  it('shows in status, with its reason, who and until when', async () => {
    const frozen = await cli(
      ['freeze', 'antenna-prod', '--reason', 'INC-42: stop shipping', '--until', '4h'],
      {
        env: { USER: 'alice' },
      },
    );
    const status = await cli(['status', 'antenna-prod']);

    expect(frozen.code).toBe(ExitCode.Ok);
    expect(frozen.stdout).toContain('Froze antenna-prod (antenna/antenna-prod) until ');
    expect(status.stdout).toMatch(/frozen\s+"INC-42: stop shipping"\s+by alice since .*, until /);
  });

  it('refuses a manual deploy to a frozen target unless --force, which the execution input carries', async () => {
    await cli(['freeze', 'antenna-prod', '--reason', 'holiday freeze']);

    const refused = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2']);
    const forced = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2', '--force']);

    expect(refused.code).toBe(ExitCode.Usage);
    expect(refused.stderr).toContain('antenna-prod is frozen since');
    expect(refused.stderr).toContain('"holiday freeze"');
    expect(refused.stderr).toContain('--force');
    expect(forced.code).toBe(ExitCode.Ok);
    expect(startedInputs()).toEqual([
      { target: 'antenna-prod', imageTag: 'v1.4.2', imageDigest: DIGEST, trigger: 'manual', force: true },
    ]);
  });

  it('rejects an --until in the past or unreadable, saying what it accepts', async () => {
    const past = await cli(['freeze', 'antenna-prod', '--reason', 'x', '--until', '2020-01-01T00:00:00Z']);
    const junk = await cli(['freeze', 'antenna-prod', '--reason', 'x', '--until', 'tomorrow']);

    expect(past.code).toBe(ExitCode.Usage);
    expect(past.stderr).toContain('is in the past');
    expect(junk.code).toBe(ExitCode.Usage);
    expect(junk.stderr).toContain(
      '--until must be an ISO time (2026-12-28T08:00:00Z) or a duration (4h, 2d, 1w)',
    );
  });
});

describe('ebship unfreeze', () => {
  it('ends the freeze and deploys the newest held push, as the push it was', async () => {
    await cli(['freeze', 'antenna-prod', '--reason', 'INC-42']);
    await holdPush(table.db, 'ebship-dev', ENV, {
      target: 'antenna-prod',
      repository: 'antenna-backend',
      imageDigest: DIGEST,
      imageTag: 'v1.4.2',
      imagePushedAt: '2025-06-02T08:55:00.000Z',
      versionLabel: 'v1.4.2-3f2a9c1b7d4e',
      executionId: execArn('antenna-prod-3f2a9c1b7d4e-push'),
      heldAt: '2025-06-02T09:00:00.000Z',
    });

    const run = await cli(['unfreeze', 'antenna-prod']);
    const status = await cli(['status', 'antenna-prod']);
    const again = await cli(['unfreeze', 'antenna-prod']);

    expect(run.code).toBe(ExitCode.Ok);
    expect(run.stdout).toContain('Unfroze antenna-prod (was: "INC-42")');
    expect(run.stdout).toContain('deploying the held push v1.4.2-3f2a9c1b7d4e');
    expect(startedInputs()).toEqual([
      { target: 'antenna-prod', imageTag: 'v1.4.2', imageDigest: DIGEST, trigger: 'push' },
    ]);
    expect(status.stdout).not.toContain('frozen');
    // Nothing is held any more: a second unfreeze starts nothing.
    expect(again.stdout).toContain('antenna-prod was not frozen');
    expect(startedInputs()).toHaveLength(1);
  });
});

describe('ebship deploy to a promoted target (issue 14)', () => {
  const PROMOTE = { EBSHIP_CONFIG: 'standin/scenarios/promote.ebship.yml' };
  const PROOF = { pk: 'ENV#antenna/antenna-staging', sk: `PROVEN#${DIGEST}` };
  beforeEach(async () => {
    await table.db.send(new DeleteCommand({ TableName: 'ebship-dev', Key: PROOF }));
  });

  it('refuses a digest that never succeeded on the target it promotes from, unless --force, which the input carries', async () => {
    const refused = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2'], {
      env: PROMOTE,
      cwd: process.cwd(),
    });
    const forced = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2', '--force'], {
      env: PROMOTE,
      cwd: process.cwd(),
    });

    expect(refused.code).toBe(ExitCode.Usage);
    expect(refused.stderr).toContain(
      `antenna-prod deploys only what succeeded on antenna-staging (promote.from), and ${DIGEST} never did`,
    );
    expect(refused.stderr).toContain('Deploy it to antenna-staging first');
    expect(forced.code).toBe(ExitCode.Ok);
    expect(startedInputs()).toEqual([
      { target: 'antenna-prod', imageTag: 'v1.4.2', imageDigest: DIGEST, trigger: 'manual', force: true },
    ]);
  });

  it('deploys a digest that succeeded on staging without --force', async () => {
    await recordProof(
      table.db,
      'ebship-dev',
      { application: 'antenna', environment: 'antenna-staging' },
      {
        imageDigest: DIGEST,
        versionLabel: 'v1.4.2-3f2a9c1b7d4e',
        executionId: execArn('antenna-staging-ok'),
        succeededAt: '2025-06-02T09:10:00Z',
      },
    );

    const run = await cli(['deploy', 'antenna-prod', '--tag', 'v1.4.2'], {
      env: PROMOTE,
      cwd: process.cwd(),
    });

    expect(run.code).toBe(ExitCode.Ok);
    expect(startedInputs()).toEqual([
      { target: 'antenna-prod', imageTag: 'v1.4.2', imageDigest: DIGEST, trigger: 'manual' },
    ]);
  });
});
