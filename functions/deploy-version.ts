import type { Context } from 'aws-lambda';
import { deployRelease } from '../lib/steps/deploy-version.js';
import { parseState } from '../lib/workflow/input.js';
import type { DeployResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<DeployResult> => {
  const { release } = parseState(event, context, ['release']);
  return deployRelease(release);
};
