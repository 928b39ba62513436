import type { Context } from 'aws-lambda';
import { buildBundle } from '../lib/steps/build-bundle.js';
import { parseState } from '../lib/workflow/input.js';
import type { BundleResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<BundleResult> => {
  const state = parseState(event, context, ['release', 'secrets']);
  return buildBundle(state.release, state.secrets);
};
