import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { checkHealth } from '../lib/steps/check-health.js';
import { parseEvent, parseState } from '../lib/workflow/input.js';
import type { HealthProgress } from '../lib/workflow-state.js';

// The same function watches the deploy and the rollback; the state machine says which.
const phase = z.object({ phase: z.enum(['deploy', 'rollback']) });

export const handler = async (event: unknown, context?: Context): Promise<HealthProgress> => {
  const watching = parseEvent(phase, event, 'the health watch phase').phase;
  if (watching === 'rollback') {
    const state = parseState(event, context, ['release', 'rollback']);
    return checkHealth(state.release, state.rollback, state.rollbackHealth);
  }
  const state = parseState(event, context, ['release', 'deploy']);
  return checkHealth(state.release, state.deploy, state.health);
};
