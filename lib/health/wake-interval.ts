import type { HealthPolicy } from '../config/schema.js';
import type { HealthProgress } from '../workflow-state.js';

/**
 * The event-driven watch's fallback interval (issue 13): how long the next wait for one of EB's
 * EventBridge events may last before the watch reads the environment anyway. EB's events are best
 * effort (EB developer guide, "Using Elastic Beanstalk with Amazon EventBridge"), so a lost one
 * costs at most this long.
 *
 * - `health.fallbackSeconds` (60 s), jittered down by up to 20 % so a fleet whose events are all
 *   lost does not read EB in step (while EB updates: each bake starts when its own update
 *   completes, so the bake's looks are spread already, and are spaced evenly to its end instead);
 * - never past a deadline the verdict acts on without any event: the bake's end (healthy), the
 *   grace period's end for Grey after convergence (rollback) and the early abort's, once the
 *   instances on the new version are red while EB updates (`redSince` + health.abortAfterSeconds),
 *   so none of them is late;
 * - after a read that failed (no fresh `lastReadAt`), the poll interval, as the poll-only watch
 *   would: the unread-poll budget (`health.unread`) keeps its meaning.
 *
 * Absent (the state machine then takes the plain Wait of `nextPollSeconds`) in the poll-only watch
 * and whenever the verdict ends the watch.
 */
/** `health.fallbackSeconds` when ebship.yml leaves it out. */
export const DEFAULT_FALLBACK_SECONDS = 60;

export function withFallback(
  progress: HealthProgress,
  previous: Pick<HealthProgress, 'lastReadAt'> | undefined,
  policy: Pick<HealthPolicy, 'watch' | 'fallbackSeconds' | 'bakeSeconds' | 'graceSeconds'> &
    Partial<Pick<HealthPolicy, 'abortAfterSeconds'>>,
  random: () => number = Math.random,
): HealthProgress {
  const { fallbackSeconds: _dropped, ...rest } = progress;
  if ((policy.watch ?? 'events') !== 'events' || progress.verdict !== 'wait') return rest;
  const fresh = progress.lastReadAt !== undefined && progress.lastReadAt !== previous?.lastReadAt;
  if (!fresh) return { ...rest, fallbackSeconds: Math.max(1, progress.nextPollSeconds) };
  const now = Date.parse(progress.lastReadAt ?? '');
  const base = policy.fallbackSeconds ?? DEFAULT_FALLBACK_SECONDS;
  let seconds = Math.max(1, Math.round(base * (0.8 + 0.2 * random())));
  // A deadline within one fallback interval is waited for exactly, not jittered: the look before it
  // would only find the bake unfinished, and cost a read and a wake cycle. Deadlines are spread
  // across a fleet already (each bake starts when its own update completes).
  let due: number | undefined;
  /** Seconds left until `limit` after `since`; waited for exactly when within one interval. */
  const deadline = (since: string | undefined, limit: number): number | undefined => {
    if (!since) return undefined;
    const left = Math.ceil(limit - (now - Date.parse(since)) / 1000);
    if (Number.isFinite(left) && left <= base) due = Math.min(due ?? left, left);
    return left;
  };
  if (progress.healthySince) {
    const left = deadline(progress.healthySince, policy.bakeSeconds) ?? 0;
    // A bake longer than one interval: its looks evenly spaced to its end, none further apart than
    // the interval, so it takes the fewest looks that still find Red within one interval (a jittered
    // 48-60 s step would leave a look of a few seconds before the end, one read more).
    if (left > base) seconds = Math.ceil(left / Math.ceil(left / base));
  } else if (progress.convergedAt && progress.color === 'Grey')
    deadline(progress.convergedAt, policy.graceSeconds);
  // A crash-looping release: EB sends no event when the clock runs out, and it keeps Updating.
  const abortAfter = policy.abortAfterSeconds ?? 0;
  if (progress.redSince && abortAfter > 0) deadline(progress.redSince, abortAfter);
  if (due !== undefined) seconds = Math.max(1, due);
  return { ...rest, fallbackSeconds: seconds };
}
