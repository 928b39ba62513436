import type { Context } from 'aws-lambda';
import { startPostDeployChecks } from '../lib/steps/post-deploy-checks.js';
import { parseState } from '../lib/workflow/input.js';
import type { ChecksResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<ChecksResult> => {
  const state = parseState(event, context, ['release', 'deploy']);
  return startPostDeployChecks(state.release, state.deploy);
};
