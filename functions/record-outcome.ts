import type { Context } from 'aws-lambda';
import { recordOutcome } from '../lib/steps/record-outcome.js';
import { parseState } from '../lib/workflow/input.js';

export const handler = async (event: unknown, context?: Context): Promise<{ recorded: boolean }> => {
  const state = parseState(event, context, ['outcome']);
  return recordOutcome(state, state.outcome.status);
};
