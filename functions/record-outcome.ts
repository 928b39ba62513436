import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { recordOutcome } from '../lib/steps/record-outcome.js';
import { parseEvent, startLogging } from '../lib/workflow/input.js';
import type { DeployState } from '../lib/workflow-state.js';

const outcome = z.object({
  outcome: z.object({
    status: z.enum(['SUCCEEDED', 'ROLLED_BACK', 'FAILED_BEFORE_DEPLOY', 'ROLLBACK_FAILED', 'OVERRIDDEN']),
  }),
});

export const handler = async (event: unknown, context?: Context): Promise<{ recorded: boolean }> => {
  const { status } = parseEvent(outcome, event, 'the deployment outcome').outcome;
  const state = event as DeployState;
  startLogging(context, state.release);
  return recordOutcome(state, status);
};
