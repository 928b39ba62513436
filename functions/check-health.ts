import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { getTarget } from '../lib/config/load.js';
import { WatchEnded } from '../lib/errors.js';
import { withFallback } from '../lib/health/wake-interval.js';
import { config } from '../lib/runtime.js';
import { checkHealth } from '../lib/steps/check-health.js';
import { endWatch } from '../lib/steps/watch.js';
import { parseEvent, parseState } from '../lib/workflow/input.js';
import type { HealthProgress, Release } from '../lib/workflow-state.js';

// The same function watches the deploy and the rollback; the state machine says which, and whether
// this look follows a wait for an EB event (CheckHealthAfterWait: its next state is that wait again).
const phase = v.object({ phase: v.picklist(['deploy', 'rollback']), afterWait: v.optional(v.boolean()) });

export const handler = async (event: unknown, context?: Context): Promise<HealthProgress> => {
  const { phase: watching, afterWait } = parseEvent(phase, event, 'the health watch phase');
  if (watching === 'rollback') {
    const state = parseState(event, context, ['release', 'rollback']);
    if (afterWait) loopEnded(state.rollbackHealth);
    const progress = await checkHealth(state.release, state.rollback, state.rollbackHealth);
    const next = withFallback(progress, state.rollbackHealth, policyOf(state.release.target));
    return ended(state.release, afterWait ? waitable(next) : next, 'rollback');
  }
  const state = parseState(event, context, ['release', 'deploy']);
  if (afterWait) loopEnded(state.health);
  const progress = await checkHealth(state.release, state.deploy, state.health);
  // The event-driven watch (health.watch: events) waits for EB's events up to this long.
  const next = withFallback(progress, state.health, policyOf(state.release.target));
  return ended(state.release, afterWait ? waitable(next) : next, 'deploy');
};

/**
 * The wait after a look that ended the watch should have failed with WatchEnded (its registration
 * refuses to wait); it timed out instead (a registration slower than the wait's timeout). Looking
 * again would loop: fail, so the Catch's plain path (CountUnreadHealth, WaitForHealth, CheckHealth)
 * reads once more and its Choice acts on the verdict.
 */
function loopEnded(previous: HealthProgress | undefined): void {
  if (previous && previous.verdict !== 'wait') {
    throw new WatchEnded(
      `the last look ended the watch (${previous.verdict}); its verdict goes to the Choice`,
    );
  }
}

/**
 * After a wait, the next state is the wait again, whose TimeoutSecondsPath must name a positive
 * integer whatever the verdict: one that ends the watch makes the registration fail (WatchEnded)
 * before anything waits (the poll interval leaves it ample time to), and a poll-only target
 * (ebship.yml changed mid-watch) waits its poll interval.
 */
function waitable(progress: HealthProgress): HealthProgress {
  if (progress.fallbackSeconds !== undefined) return progress;
  return {
    ...progress,
    fallbackSeconds: Math.max(1, Math.round(progress.nextPollSeconds)),
  };
}

/**
 * A verdict ends this watch: its WATCH item goes now, not at the next event or its TTL. Except when
 * the deploy watch hands over to the rollback's (rollback, abort, timeout): that watch registers on
 * the same item, whose last event id makes a late copy of the event that ended this one do nothing.
 */
async function ended(
  release: Release,
  progress: HealthProgress,
  phase: 'deploy' | 'rollback',
): Promise<HealthProgress> {
  const rollsBack = phase === 'deploy' && ['rollback', 'abort', 'timeout'].includes(progress.verdict);
  if (progress.verdict !== 'wait' && !rollsBack) {
    const { application, environment, executionId } = release;
    await endWatch({ application, environment }, executionId);
  }
  return progress;
}

const policyOf = (target: string) => getTarget(config(), target).health;
