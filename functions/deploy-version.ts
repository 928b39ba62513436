import type { Context } from 'aws-lambda';
import { deployRelease } from '../lib/steps/deploy-version.js';
import { stateWithRelease } from '../lib/workflow/input.js';
import type { DeployResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<DeployResult> => {
  const { release } = stateWithRelease(event, context);
  return deployRelease(release);
};
