import type { Context } from 'aws-lambda';
import { createOrCheckVersion } from '../lib/steps/create-app-version.js';
import { parseState } from '../lib/workflow/input.js';
import type { VersionResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<VersionResult> => {
  const state = parseState(event, context, ['release', 'bundle']);
  return createOrCheckVersion(state.release, state.bundle, state.version);
};
