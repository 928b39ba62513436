import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { checkHealth } from '../lib/steps/check-health.js';
import { need, parseEvent, stateWithRelease } from '../lib/workflow/input.js';
import type { HealthProgress } from '../lib/workflow-state.js';

// The same function watches the deploy and the rollback; the state machine says which.
const phase = z.object({ phase: z.enum(['deploy', 'rollback']) });

export const handler = async (event: unknown, context?: Context): Promise<HealthProgress> => {
  const state = stateWithRelease(event, context);
  const watching = parseEvent(phase, event, 'the health watch phase').phase;
  if (watching === 'rollback')
    return checkHealth(state.release, need(state, 'rollback'), state.rollbackHealth);
  return checkHealth(state.release, need(state, 'deploy'), state.health);
};
