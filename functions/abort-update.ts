import type { Context } from 'aws-lambda';
import { abortStuckUpdate } from '../lib/steps/check-health.js';
import { parseState } from '../lib/workflow/input.js';

export const handler = async (event: unknown, context?: Context): Promise<{ aborted: boolean }> => {
  const { release } = parseState(event, context, ['release']);
  return abortStuckUpdate(release);
};
