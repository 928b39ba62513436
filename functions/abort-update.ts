import type { Context } from 'aws-lambda';
import { abortStuckUpdate } from '../lib/steps/check-health.js';
import { stateWithRelease } from '../lib/workflow/input.js';

export const handler = async (event: unknown, context?: Context): Promise<{ aborted: boolean }> => {
  const { release } = stateWithRelease(event, context);
  return abortStuckUpdate(release);
};
