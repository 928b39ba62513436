import type { Context } from 'aws-lambda';
import { startCheck } from '../lib/steps/migration-check.js';
import { need, stateWithRelease } from '../lib/workflow/input.js';
import type { MigrationResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<MigrationResult> => {
  const state = stateWithRelease(event, context);
  return startCheck(state.release, need(state, 'deploy'));
};
