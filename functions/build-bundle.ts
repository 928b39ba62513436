import type { Context } from 'aws-lambda';
import { buildBundle } from '../lib/steps/build-bundle.js';
import { need, stateWithRelease } from '../lib/workflow/input.js';
import type { BundleResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<BundleResult> => {
  const state = stateWithRelease(event, context);
  return buildBundle(state.release, need(state, 'secrets'));
};
