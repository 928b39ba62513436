import type { Context } from 'aws-lambda';
import { createOrCheckVersion } from '../lib/steps/create-app-version.js';
import { need, stateWithRelease } from '../lib/workflow/input.js';
import type { VersionResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<VersionResult> => {
  const state = stateWithRelease(event, context);
  return createOrCheckVersion(state.release, need(state, 'bundle'), state.version);
};
