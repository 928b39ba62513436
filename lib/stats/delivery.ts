import type { HistoryEntry } from '../store/deployments.js';

/**
 * Delivery metrics from ebship's history: the four DORA measures (deployment frequency, lead time
 * for changes, change failure rate, time to restore) and the time a digest took from one target to
 * the next (staging → production).
 *
 * What counts, and why:
 * - A **deployment** is an execution that changed the environment to a new image: SUCCEEDED,
 *   ROLLED_BACK or ROLLBACK_FAILED, started by a push or `ebship deploy`. `ebship rollback` runs
 *   restore rather than change, and skipped or failed-before-deploy runs changed nothing: neither counts.
 * - **Lead time** is push → healthy: the ECR push time to the end of a SUCCEEDED run (the bake
 *   held, the checks passed). Runs recorded without a push time are left out, and counted.
 * - **Change failure rate** is (ROLLED_BACK + ROLLBACK_FAILED) ÷ deployments.
 * - **Time to restore**: for ROLLED_BACK, ebship's rollback start → the old version healthy again;
 *   for ROLLBACK_FAILED, the rollback start → the end of the next SUCCEEDED run on the target (a
 *   person fixed it). A failure not restored by `now` is counted as open, not timed.
 * - **Promotion time**: for each SUCCEEDED run, the end of the latest SUCCEEDED run of the same
 *   digest on the `from` target before it → its own end.
 */
export interface DeliveryStats {
  target: string;
  since: string;
  until: string;
  deployments: number;
  succeeded: number;
  failed: number;
  /** Successful deployments per week over the window. */
  deploysPerWeek: number;
  /** Seconds from push to healthy (median, 90th percentile), over `leadTime.count` runs. */
  leadTime: Percentiles & { withoutPushTime: number };
  /** failed ÷ deployments; null when nothing was deployed. */
  changeFailureRate: number | null;
  timeToRestore: Percentiles & { open: number };
  promotion?: Percentiles & { from: string };
}

export interface Percentiles {
  count: number;
  p50Seconds: number | null;
  p90Seconds: number | null;
}

// Outcomes that changed the environment. Not FAILED_BEFORE_DEPLOY, SKIPPED, OVERRIDDEN or
// NOT_APPROVED (a promotion rejected, unanswered or superseded: issue 14): nothing was deployed.
const CHANGED: ReadonlySet<HistoryEntry['outcome']> = new Set([
  'SUCCEEDED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
]);
const WEEK_SECONDS = 7 * 24 * 3600;

/** Nearest-rank percentile of sorted values (p in 0..100). */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Seconds: percentile(sorted, 50), p90Seconds: percentile(sorted, 90) };
}

const seconds = (from: string, to: string): number => Math.round((Date.parse(to) - Date.parse(from)) / 1000);

/** The image digest of a history row (`…@sha256:…`), if it names one. */
function digestOf(entry: HistoryEntry): string | undefined {
  const at = entry.imageUri?.lastIndexOf('@') ?? -1;
  return at >= 0 ? entry.imageUri?.slice(at + 1) : undefined;
}

/**
 * The stats of one target over [since, until]. `entries` are the target's history rows (any order);
 * rows that started before `since` are ignored, except that a later success may restore them.
 * `fromEntries`: the history of the target it is promoted from, for the promotion time.
 */
export function deliveryStats(
  target: string,
  entries: HistoryEntry[],
  window: { since: string; until: string },
  from?: { target: string; entries: HistoryEntry[] },
): DeliveryStats {
  const all = [...entries].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const inWindow = all.filter((e) => e.startedAt >= window.since && e.startedAt <= window.until);
  const deployments = inWindow.filter((e) => CHANGED.has(e.outcome) && e.trigger !== 'rollback');
  const succeeded = deployments.filter((e) => e.outcome === 'SUCCEEDED');
  const failed = deployments.filter((e) => e.outcome !== 'SUCCEEDED');

  const leadTimes = succeeded.flatMap((e) =>
    e.imagePushedAt && e.endedAt ? [Math.max(0, seconds(e.imagePushedAt, e.endedAt))] : [],
  );

  const restores: number[] = [];
  let open = 0;
  for (const f of failed) {
    const brokeAt = f.rollbackStartedAt ?? f.endedAt;
    if (!brokeAt) continue;
    const restoredAt =
      f.outcome === 'ROLLED_BACK'
        ? f.endedAt
        : all.find((e) => e.outcome === 'SUCCEEDED' && e.startedAt > f.startedAt && e.endedAt)?.endedAt;
    if (restoredAt && restoredAt <= window.until) restores.push(Math.max(0, seconds(brokeAt, restoredAt)));
    else open++;
  }

  const windowSeconds = Math.max(1, seconds(window.since, window.until));
  const stats: DeliveryStats = {
    target,
    since: window.since,
    until: window.until,
    deployments: deployments.length,
    succeeded: succeeded.length,
    failed: failed.length,
    deploysPerWeek: Math.round((succeeded.length / windowSeconds) * WEEK_SECONDS * 10) / 10,
    leadTime: { ...percentiles(leadTimes), withoutPushTime: succeeded.length - leadTimes.length },
    changeFailureRate: deployments.length === 0 ? null : failed.length / deployments.length,
    timeToRestore: { ...percentiles(restores), open },
  };
  if (from) {
    const upstream = from.entries.filter((e) => e.outcome === 'SUCCEEDED' && e.endedAt);
    const promotions = succeeded.flatMap((e) => {
      const digest = digestOf(e);
      if (!digest || !e.endedAt) return [];
      const before = upstream
        .filter((u) => digestOf(u) === digest && (u.endedAt ?? '') <= (e.startedAt ?? ''))
        .map((u) => u.endedAt ?? '')
        .sort()
        .at(-1);
      return before ? [seconds(before, e.endedAt)] : [];
    });
    stats.promotion = { ...percentiles(promotions), from: from.target };
  }
  return stats;
}

/** `30d`, `12h`, `2w` → seconds; undefined when it is not one of those. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d{1,4})([hdw])$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < 1) return undefined;
  return n * { h: 3600, d: 86_400, w: 604_800 }[m[2] as 'h' | 'd' | 'w'];
}
