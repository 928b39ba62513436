import type { Context } from 'aws-lambda';
import { acquireDeployLock } from '../lib/steps/acquire-lock.js';
import { parseState } from '../lib/workflow/input.js';
import type { LockResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<LockResult> => {
  const { release } = parseState(event, context, ['release']);
  return acquireDeployLock(release);
};
