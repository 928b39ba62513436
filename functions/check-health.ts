import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { getTarget } from '../lib/config/load.js';
import { withFallback } from '../lib/health/wake-interval.js';
import { config } from '../lib/runtime.js';
import { checkHealth } from '../lib/steps/check-health.js';
import { endWatch } from '../lib/steps/watch.js';
import { parseEvent, parseState } from '../lib/workflow/input.js';
import type { HealthProgress, Release } from '../lib/workflow-state.js';

// The same function watches the deploy and the rollback; the state machine says which.
const phase = z.object({ phase: z.enum(['deploy', 'rollback']) });

export const handler = async (event: unknown, context?: Context): Promise<HealthProgress> => {
  const watching = parseEvent(phase, event, 'the health watch phase').phase;
  if (watching === 'rollback') {
    const state = parseState(event, context, ['release', 'rollback']);
    const progress = await checkHealth(state.release, state.rollback, state.rollbackHealth);
    return ended(state.release, withFallback(progress, state.rollbackHealth, policyOf(state.release.target)));
  }
  const state = parseState(event, context, ['release', 'deploy']);
  const progress = await checkHealth(state.release, state.deploy, state.health);
  // The event-driven watch (health.watch: events) waits for EB's events up to this long.
  return ended(state.release, withFallback(progress, state.health, policyOf(state.release.target)));
};

/** A verdict ends this watch: its WATCH item goes now, not at the next event or its TTL. */
async function ended(release: Release, progress: HealthProgress): Promise<HealthProgress> {
  if (progress.verdict !== 'wait') {
    const { application, environment, executionId } = release;
    await endWatch({ application, environment }, executionId);
  }
  return progress;
}

const policyOf = (target: string) => getTarget(config(), target).health;
