import type { Context } from 'aws-lambda';
import { pollRelease } from '../lib/steps/release-phase.js';
import { parseState } from '../lib/workflow/input.js';
import type { ReleasePhaseResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<ReleasePhaseResult> => {
  const state = parseState(event, context, ['release', 'releasePhase']);
  return pollRelease(state.release, state.releasePhase);
};
