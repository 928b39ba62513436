import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../cli/exit-codes.js';
import type { DeliveryStats } from '../../lib/stats/delivery.js';
import { type HistoryEntry, recordDeployment } from '../../lib/store/deployments.js';
import { cli, DIGEST, execArn, type LocalTable, OLD_DIGEST, pointSdkAt, startTable } from './harness.js';

// History written through the real store into dynalite, read back by `ebship stats` through the
// real DynamoDB client; times are relative to now, as the command's window is.
let table: LocalTable;
const HOUR = 3600_000;
const ago = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString();
const PROD = { target: 'antenna-prod', application: 'antenna', environment: 'antenna-prod' };
const DEV = {
  target: 'treasury-plane-dev',
  application: 'treasury-plane',
  environment: 'treasury-plane-dev',
};

function entry(
  where: typeof PROD,
  name: string,
  outcome: HistoryEntry['outcome'],
  startedHoursAgo: number,
  tookHours: number,
  extra: Partial<HistoryEntry> = {},
): HistoryEntry {
  return {
    ...where,
    executionId: execArn(name),
    trigger: 'push',
    toVersion: name,
    outcome,
    startedAt: ago(startedHoursAgo),
    endedAt: ago(startedHoursAgo - tookHours),
    ...extra,
  };
}

beforeAll(async () => {
  table = await startTable();
  const rows = [
    // Outside a 7-day window, inside 30 days.
    entry(PROD, 'old', 'SUCCEEDED', 20 * 24, 0.25, { imagePushedAt: ago(20 * 24 + 1) }),
    // The upstream target had the digest 3 h before production was healthy with it.
    entry(DEV, 'dev-1', 'SUCCEEDED', 52, 0.5, { imageUri: `r/a@${DIGEST}` }),
    entry(PROD, 'one', 'SUCCEEDED', 49, 0.5, { imagePushedAt: ago(53), imageUri: `r/a@${DIGEST}` }),
    entry(PROD, 'two', 'ROLLED_BACK', 30, 0.5, { rollbackStartedAt: ago(29.75) }),
    entry(PROD, 'three', 'SUCCEEDED', 10, 1, { imagePushedAt: ago(11), imageUri: `r/a@${OLD_DIGEST}` }),
  ];
  for (const row of rows) await recordDeployment(table.db, 'ebship-dev', row);
});
afterAll(async () => {
  await table.close();
});
beforeEach(() => pointSdkAt(table));

describe('ebship stats', () => {
  it('prints deploys, lead time, failure rate, restore time and promotion time per target', async () => {
    const run = await cli(['stats', 'antenna-prod', '--since', '7d', '--from', 'treasury-plane-dev']);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.Ok);
    const row = run.stdout.split('\n').find((l) => l.trim().startsWith('antenna-prod'));
    // 3 deploys in 7 days (2 healthy): 2 per week; lead times 4h30m and 2h; 1 of 3 failed;
    // the rollback restored in 15 min; the digest reached production 3h after the dev target.
    expect(row?.trim().split(/\s{2,}/)).toEqual([
      'antenna-prod',
      '3',
      '2.0',
      '2h 0m 0s / 4h 30m 0s',
      '33% (1 of 3)',
      '15m 0s / 15m 0s',
      '3h 0m 0s',
    ]);
  });

  it('times a promoted target from its promote.from without being asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebship-stats-'));
    const path = join(dir, 'ebship.yml');
    writeFileSync(
      path,
      readFileSync('ebship.yml', 'utf8').replace(
        '    platform: ecs\n',
        '    platform: ecs\n    promote: { from: treasury-plane-dev }\n',
      ),
    );

    const run = await cli(['stats', 'antenna-prod', '--since', '7d', '--json'], {
      env: { EBSHIP_CONFIG: path },
    });
    rmSync(dir, { recursive: true });

    expect(run.code).toBe(ExitCode.Ok);
    expect(run.json<{ targets: DeliveryStats[] }>().targets[0]?.promotion).toMatchObject({
      from: 'treasury-plane-dev',
      p50Seconds: 3 * 3600,
    });
  });

  it('gives the same figures as JSON, and widens with --since', async () => {
    const week = (await cli(['stats', '--since', '1w', '--json'])).json<{ targets: DeliveryStats[] }>();
    const month = (await cli(['stats', '--since', '30d', '--json'])).json<{ targets: DeliveryStats[] }>();

    expect(week.targets.map((t) => t.target)).toEqual(['antenna-prod', 'treasury-plane-dev']);
    expect(week.targets[0]).toMatchObject({
      deployments: 3,
      succeeded: 2,
      changeFailureRate: 1 / 3,
      leadTime: { count: 2, p50Seconds: 2 * 3600, p90Seconds: 4.5 * 3600 },
    });
    expect(month.targets[0]?.deployments).toBe(4);
  });

  it('refuses a window it cannot read, saying what it accepts', async () => {
    const run = await cli(['stats', '--since', '30 days']);

    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain(
      '--since must be a number of hours, days or weeks such as 12h, 30d or 2w; got "30 days"',
    );
  });

  it('names the known targets for an unknown one', async () => {
    const run = await cli(['stats', 'antena-prod']);

    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain('known targets: antenna-prod, treasury-plane-dev');
  });
});
