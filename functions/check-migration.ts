import type { Context } from 'aws-lambda';
import { pollCheck } from '../lib/steps/migration-check.js';
import { parseState } from '../lib/workflow/input.js';
import type { MigrationResult } from '../lib/workflow-state.js';

export const handler = async (event: unknown, context?: Context): Promise<MigrationResult> => {
  const state = parseState(event, context, ['release', 'migration']);
  return pollCheck(state.release, state.migration);
};
