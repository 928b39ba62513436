import { describe, expect, it } from 'vitest';
import { deliveryStats, parseWindow } from '../../../lib/stats/delivery.js';
import type { HistoryEntry } from '../../../lib/store/deployments.js';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
let seq = 0;

function run(
  outcome: HistoryEntry['outcome'],
  startedAt: string,
  endedAt: string | undefined,
  extra: Partial<HistoryEntry> = {},
): HistoryEntry {
  seq++;
  return {
    target: 'prod',
    application: 'antenna',
    environment: 'antenna-prod',
    executionId: `exec-${seq}`,
    trigger: 'push',
    toVersion: `v${seq}`,
    outcome,
    startedAt,
    ...(endedAt ? { endedAt } : {}),
    ...extra,
  };
}

const WINDOW = { since: '2026-11-01T00:00:00.000Z', until: '2026-11-15T00:00:00.000Z' };

// Two weeks of production history, figures worked out by hand below.
const history: HistoryEntry[] = [
  // Before the window: ignored for counts.
  run('SUCCEEDED', '2026-10-30T10:00:00.000Z', '2026-10-30T10:10:00.000Z'),
  // 1: pushed 09:58, healthy 10:12 → lead 14 min.
  run('SUCCEEDED', '2026-11-02T10:00:00.000Z', '2026-11-02T10:12:00.000Z', {
    imagePushedAt: '2026-11-02T09:58:00.000Z',
    imageUri: `r/a@${D(1)}`,
  }),
  // 2: rolled back: rollback started 11:05, old version healthy 11:09 → restore 4 min.
  run('ROLLED_BACK', '2026-11-03T11:00:00.000Z', '2026-11-03T11:09:00.000Z', {
    imagePushedAt: '2026-11-03T10:59:00.000Z',
    rollbackStartedAt: '2026-11-03T11:05:00.000Z',
  }),
  // 3: pushed 08:00, healthy 08:30 → lead 30 min.
  run('SUCCEEDED', '2026-11-05T08:01:00.000Z', '2026-11-05T08:30:00.000Z', {
    imagePushedAt: '2026-11-05T08:00:00.000Z',
    imageUri: `r/a@${D(3)}`,
  }),
  // Skipped and failed-before-deploy runs changed nothing: not deployments.
  run('SKIPPED', '2026-11-06T08:00:00.000Z', '2026-11-06T08:00:01.000Z'),
  run('FAILED_BEFORE_DEPLOY', '2026-11-06T09:00:00.000Z', '2026-11-06T09:00:30.000Z'),
  // 4: rollback failed at 12:10 (rollback start); a person's rollback healthy at 13:10 → restore 60 min.
  run('ROLLBACK_FAILED', '2026-11-08T12:00:00.000Z', '2026-11-08T12:20:00.000Z', {
    rollbackStartedAt: '2026-11-08T12:10:00.000Z',
  }),
  run('SUCCEEDED', '2026-11-08T13:00:00.000Z', '2026-11-08T13:10:00.000Z', { trigger: 'rollback' }),
  // 5: a manual deploy without a recorded push time: no lead time, counted as such.
  run('SUCCEEDED', '2026-11-10T09:00:00.000Z', '2026-11-10T09:05:00.000Z', { trigger: 'manual' }),
];

describe('deliveryStats', () => {
  it('computes the DORA figures a person would by hand', () => {
    const s = deliveryStats('prod', history, WINDOW);

    expect(s.deployments).toBe(5); // 1, 2, 3, 4, 5: the rollback run restores, it does not change
    expect(s.succeeded).toBe(3);
    expect(s.failed).toBe(2);
    expect(s.deploysPerWeek).toBe(1.5); // 3 successes over 2 weeks
    expect(s.changeFailureRate).toBe(0.4); // 2 of 5
    expect(s.leadTime).toEqual({ count: 2, p50Seconds: 14 * 60, p90Seconds: 30 * 60, withoutPushTime: 1 });
    expect(s.timeToRestore).toEqual({ count: 2, p50Seconds: 4 * 60, p90Seconds: 60 * 60, open: 0 });
  });

  it('counts a failure nobody has restored yet as open, not as a time', () => {
    const broken = run('ROLLBACK_FAILED', '2026-11-14T10:00:00.000Z', '2026-11-14T10:20:00.000Z', {
      rollbackStartedAt: '2026-11-14T10:10:00.000Z',
    });

    const s = deliveryStats('prod', [broken], WINDOW);

    expect(s.timeToRestore).toEqual({ count: 0, p50Seconds: null, p90Seconds: null, open: 1 });
    expect(s.changeFailureRate).toBe(1);
  });

  it('counts a promotion that was not approved (issue 14) neither as a deploy nor as a failure: it changed nothing', () => {
    const notApproved = run('NOT_APPROVED', '2026-11-12T10:00:00.000Z', '2026-11-12T11:00:00.000Z', {
      trigger: 'promotion',
    });

    const s = deliveryStats('prod', [...history, notApproved], WINDOW);

    expect(s.deployments).toBe(5);
    expect(s.failed).toBe(2);
    expect(s.changeFailureRate).toBe(0.4);
    expect(s.timeToRestore.open).toBe(0);
  });

  it('says nothing was deployed rather than a 0 % failure rate', () => {
    const s = deliveryStats('prod', [], WINDOW);

    expect(s.deployments).toBe(0);
    expect(s.changeFailureRate).toBeNull();
    expect(s.leadTime.p50Seconds).toBeNull();
  });

  it('times a digest from the target it is promoted from, using the latest success before it', () => {
    const staging = [
      {
        ...run('SUCCEEDED', '2026-11-02T08:00:00.000Z', '2026-11-02T08:40:00.000Z'),
        imageUri: `s/a@${D(1)}`,
      },
      // The same digest again later, after production already had it: not the one promoted.
      {
        ...run('SUCCEEDED', '2026-11-02T12:00:00.000Z', '2026-11-02T12:10:00.000Z'),
        imageUri: `s/a@${D(1)}`,
      },
      {
        ...run('SUCCEEDED', '2026-11-04T08:00:00.000Z', '2026-11-04T09:30:00.000Z'),
        imageUri: `s/a@${D(3)}`,
      },
      // A rollback on staging never promotes.
      {
        ...run('ROLLED_BACK', '2026-11-09T08:00:00.000Z', '2026-11-09T08:30:00.000Z'),
        imageUri: `s/a@${D(5)}`,
      },
    ];

    const s = deliveryStats('prod', history, WINDOW, { target: 'staging', entries: staging });

    // Digest 1: staging healthy 08:40, production healthy 10:12 → 92 min.
    // Digest 3: staging healthy 11-04 09:30, production healthy 11-05 08:30 → 23 h.
    expect(s.promotion).toEqual({ from: 'staging', count: 2, p50Seconds: 92 * 60, p90Seconds: 23 * 3600 });
  });
});

describe('parseWindow', () => {
  it('reads hours, days and weeks, and refuses anything else', () => {
    expect(parseWindow('30d')).toBe(30 * 86_400);
    expect(parseWindow('12h')).toBe(12 * 3600);
    expect(parseWindow('2w')).toBe(14 * 86_400);
    for (const bad of ['', '0d', '30', 'd', '1.5d', '30 days', '-3d'])
      expect(parseWindow(bad), bad).toBeUndefined();
  });
});
